# Reference numbers for the Rambachan-Roth confidence sets under relative magnitudes, Delta^RM(Mbar)
# (tests/test_honest_rm_references.py), from the authors' HonestDiD 0.2.8 (github.com/asheshrambachan/HonestDiD,
# commit 6813f02). HonestDiD itself cannot be installed here (CVXR and latex2exp are neither in Debian nor
# reachable), so its R files are sourced as they are; the Delta^RM path calls none of CVXR's functions.
# Its other dependencies: lpSolveAPI 5.5.2.0-17.15 and TruncatedNormal 2.3 built from their CRAN sources
# (TruncatedNormal with the imports of its quasi-Monte-Carlo functions -- alabama, qrng, spacefillr -- removed
# from DESCRIPTION/NAMESPACE: norminvp, the only function used, needs none of them); mvtnorm, matrixStats,
# Rglpk, pracma, purrr, tibble, foreach from Debian. scripts/install-honestdid-reference.sh does all of it.
#
# Run from the repository root (after `bash tests/references/install-honestdid.sh`; `make references`):
#   R_LIBS=~/.cache/r-reference Rscript tests/references/honestdid.R
# (HONESTDID_SRC and EHEC_CSV default to ~/.cache/r-reference/src/HonestDiD and .../src/ehec_data.csv)
# ehec_data.csv: the Medicaid-expansion panel of HonestDiD's README (Mixtape-Sessions/Advanced-DID,
# Exercises/Data/ehec_data.csv, commit 39867d0). Only estimates derived from it are stored.
# Writes tests/references/honestdid.json with every double at 17 significant digits.
suppressPackageStartupMessages({
  library(fixest); library(data.table); library(jsonlite); library(foreach)
})
setFixest_nthreads(1)
src <- Sys.getenv("HONESTDID_SRC", file.path(Sys.getenv("HOME"), ".cache/r-reference/src/HonestDiD"))
for (f in c("utilities.R", "delta_utility_functions.R", "arp-nonuisance.R", "arp-nuisance.R", "deltarm.R",
            "sensitivityresults.R")) {
  source(file.path(src, "R", f))
}
source("tests/references/write_json17.R")
pk <- c("fixest", "lpSolveAPI", "TruncatedNormal", "mvtnorm", "Rglpk", "pracma", "jsonlite")
out <- list(meta = list(
  command = "R_LIBS=~/.cache/r-reference Rscript tests/references/honestdid.R",
  R = R.version.string,
  HonestDiD = paste(read.dcf(file.path(src, "DESCRIPTION"))[, "Version"], "(sourced R files, commit 6813f02)"),
  packages = sapply(pk, function(p) as.character(packageVersion(p)), simplify = FALSE)))

# HonestDiD takes about 1.5 minutes per M-bar at its default 1,000 grid points here; the references use 300
# (the same grid is given to citynet), and the README's default-grid numbers are checked separately.
GRID <- 300
rm_sets <- function(betahat, sigma, npre, npost, l_vec, Mbar, method, seed = 0) {
  r <- createSensitivityResults_relativeMagnitudes(betahat = betahat, sigma = sigma, numPrePeriods = npre,
                                                   numPostPeriods = npost, l_vec = l_vec, Mbarvec = Mbar,
                                                   method = method, seed = seed, gridPoints = GRID)
  idset <- sapply(Mbar, function(m) unlist(.compute_IDset_DeltaRM(m, betahat, l_vec, npre, npost)))
  list(Mbar = Mbar, method = method, seed = seed, lb = r$lb, ub = r$ub,
       id_lb = unname(idset[1, ]), id_ub = unname(idset[2, ]))
}
case <- function(name, betahat, sigma, npre, npost, l_vec, Mbar, lf_Mbar, lf_seeds = 0:4) {
  cat(name, format(Sys.time()), "\n")
  list(name = name, betahat = unname(betahat), sigma = unname(sigma), npre = npre, npost = npost,
       l_vec = as.numeric(l_vec), grid_points = GRID,
       conditional = rm_sets(betahat, sigma, npre, npost, l_vec, Mbar, "Conditional"),
       c_lf = lapply(lf_seeds, function(s) rm_sets(betahat, sigma, npre, npost, l_vec, lf_Mbar, "C-LF", s)))
}

# ---- HonestDiD's README example: TWFE event study of Medicaid expansion (2014 cohort vs never), 2008-2015
ehec <- fread(Sys.getenv("EHEC_CSV", file.path(Sys.getenv("HOME"), ".cache/r-reference/src/ehec_data.csv")))
ehec <- ehec[year < 2016 & (is.na(yexp2) | yexp2 != 2015)]
ehec[, D := as.numeric(!is.na(yexp2) & yexp2 == 2014)]
twfe <- feols(dins ~ i(year, D, ref = 2013) | stfips + year, cluster = ~stfips, data = ehec)
b <- unname(coef(twfe)); V <- unname(vcov(twfe))
Mbar <- c(0, 0.5, 1, 1.5, 2)
out$cases <- list(
  case("ehec_first", b, V, 5, 2, c(1, 0), Mbar, c(0.5, 1, 2)),
  case("ehec_average", b, V, 5, 2, c(0.5, 0.5), Mbar, c(0.5, 2), lf_seeds = 0:2),
  case("ehec_one_post", b[1:6], V[1:6, 1:6], 5, 1, 1, Mbar, c(0.5, 1, 2)),
  # BCdata_EventStudy (shipped with HonestDiD, MIT): Benzarti & Carloni (2019), 4 pre and 4 post periods
  local({
    load(file.path(src, "data", "BCdata_EventStudy.rda"))
    bc <- BCdata_EventStudy
    case("bc_first", bc$betahat, bc$sigma, 4, 4, c(1, 0, 0, 0), c(0.5, 1, 2), c(1), lf_seeds = 0:2)
  })
)
# The numbers HonestDiD's README prints for the first case (C-LF, seed 0, Mbar 0.5..2; 3 significant digits)
out$readme_ehec_first <- list(Mbar = c(0.5, 1, 1.5, 2), lb = c(0.0241, 0.0171, 0.00859, -0.00107),
                              ub = c(0.0673, 0.0720, 0.0796, 0.0883))
write_json17(out, "tests/references/honestdid.json")
