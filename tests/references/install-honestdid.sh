#!/usr/bin/env bash
# Prepares what tests/references/honestdid.R needs, on top of ../shared/r-reference/install.sh (R, fixest):
#   * Debian: r-cran-mvtnorm r-cran-pracma r-cran-rglpk r-cran-matrixstats r-cran-purrr r-cran-tibble
#     r-cran-foreach r-cran-rcpp r-cran-rcpparmadillo r-cran-nleqslv
#   * lpSolveAPI 5.5.2.0-17.15 (CRAN source; github.com/cran/lpSolveAPI abb1770), built as it is
#   * TruncatedNormal 2.3 (CRAN source; github.com/cran/TruncatedNormal 4ca8c31), built with the imports of
#     its quasi-Monte-Carlo functions (alabama, qrng, spacefillr: not in Debian) removed from DESCRIPTION and
#     NAMESPACE; honestdid.R uses only its norminvp, which needs none of them
#   * HonestDiD 0.2.8 (github.com/asheshrambachan/HonestDiD 6813f02ed38f0b63bdca6915604b2eac90491303), unpacked
#     only: its R files are sourced (CVXR and latex2exp, which installing it requires, are not available)
#   * ehec_data.csv (github.com/Mixtape-Sessions/Advanced-DID 39867d0, Exercises/Data/), HonestDiD's README data
# Sources are taken from SRC_DIR (one directory or tarball per package, as downloaded) or downloaded.
# Usage: RLIB=~/.cache/r-reference SRC_DIR=DIR bash tests/references/install-honestdid.sh
#   then: R_LIBS=$RLIB HONESTDID_SRC=$RLIB/src/HonestDiD EHEC_CSV=$RLIB/src/ehec_data.csv \
#         Rscript tests/references/honestdid.R
set -euo pipefail
RLIB=${RLIB:-$HOME/.cache/r-reference}
SRC=$RLIB/src
SRC_DIR=${SRC_DIR:-}
export R_LIBS=$RLIB MAKEFLAGS=-j2
mkdir -p "$SRC"
sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  r-cran-mvtnorm r-cran-pracma r-cran-rglpk r-cran-matrixstats r-cran-purrr r-cran-tibble r-cran-foreach \
  r-cran-rcpp r-cran-rcpparmadillo r-cran-nleqslv r-cran-data.table r-cran-jsonlite >/dev/null

fetch() {  # fetch NAME URL: a directory NAME in $SRC from SRC_DIR or the URL
  local name=$1 url=$2
  rm -rf "${SRC:?}/$name"
  if [ -n "$SRC_DIR" ] && [ -d "$SRC_DIR/$name" ]; then cp -r "$SRC_DIR/$name" "$SRC/$name"; return; fi
  local tgz="$SRC/$name.tar.gz"
  if [ -n "$SRC_DIR" ] && [ -f "$SRC_DIR/$name.tar.gz" ]; then cp "$SRC_DIR/$name.tar.gz" "$tgz"; else curl -fsSL "$url" -o "$tgz"; fi
  mkdir -p "$SRC/$name" && tar xzf "$tgz" -C "$SRC/$name" --strip-components=1
}
fetch lpSolveAPI https://cran.r-project.org/src/contrib/Archive/lpSolveAPI/lpSolveAPI_5.5.2.0-17.15.tar.gz
fetch TruncatedNormal https://cran.r-project.org/src/contrib/Archive/TruncatedNormal/TruncatedNormal_2.3.tar.gz
fetch HonestDiD https://github.com/asheshrambachan/HonestDiD/archive/6813f02ed38f0b63bdca6915604b2eac90491303.tar.gz
sed -i '/importFrom(alabama/d;/importFrom(qrng/d;/importFrom(spacefillr/d' "$SRC/TruncatedNormal/NAMESPACE"
sed -i 's/^Imports: .*/Imports: nleqslv, Rcpp (>= 0.12.16)/;/VignetteBuilder/d' "$SRC/TruncatedNormal/DESCRIPTION"
rm -rf "$SRC/TruncatedNormal/vignettes"
for pkg in lpSolveAPI TruncatedNormal; do
  R CMD INSTALL --no-docs --no-html -l "$RLIB" "$SRC/$pkg" > "$SRC/install_$pkg.log" 2>&1 \
    || { tail -20 "$SRC/install_$pkg.log"; exit 1; }
done
if [ -n "$SRC_DIR" ] && [ -f "$SRC_DIR/ehec_data.csv" ]; then cp "$SRC_DIR/ehec_data.csv" "$SRC/ehec_data.csv"; else
  curl -fsSL https://raw.githubusercontent.com/Mixtape-Sessions/Advanced-DID/39867d01ea6f3b32ebe96b23f0965815f184f799/Exercises/Data/ehec_data.csv \
    -o "$SRC/ehec_data.csv"
fi
echo "HonestDiD reference ready: R_LIBS=$RLIB HONESTDID_SRC=$SRC/HonestDiD EHEC_CSV=$SRC/ehec_data.csv Rscript tests/references/honestdid.R"
