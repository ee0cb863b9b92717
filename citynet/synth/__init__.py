"""``citynet synth``: a realistic synthetic CNIPA-style export with planted effects.

See ``citynet.synth.model`` for the generating model (how ``--policy-effect`` and
``--distance-decay`` are planted so that the default ``metrics`` panels identify them),
``citynet.synth.applicants`` for applicants and their deliberate location hard cases, and
``citynet.synth.writer`` for the file formats and the noise.
"""

from citynet.synth.appno import check_digit
from citynet.synth.model import SynthConfig, city_parameters, draw_green, true_panels
from citynet.synth.writer import synthesize

__all__ = ["SynthConfig", "check_digit", "city_parameters", "draw_green", "synthesize", "true_panels"]
