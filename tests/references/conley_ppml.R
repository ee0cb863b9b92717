# Reference numbers for Conley standard errors and the (weighted) PPML pseudo R² from fixest 0.14.2, for
# tests/test_conley_fixest.py.
# Run from the repository root:  R_LIBS=~/.cache/r-reference Rscript tests/references/conley_ppml.R
# (packages: bash ../shared/r-reference/install.sh; `make references`).
# Reads data/synth_city_year.csv and data/city_coords.csv (make_city_coords.py: each city's centroid from
# citynet's city set, its region, a made-up weight w); writes tests/references/conley_ppml.json, every double
# at 17 significant digits.
#
# fixest 0.14.2's vcov_conley (R/VCOV.R vcov_conley_internal, src/vcov_related.cpp cpp_vcov_conley):
# - uniform kernel, pairs with distance <= cutoff (inclusive), the pair of an observation with itself included;
#   observations at the same coordinates are summed into one score first (same thing under a uniform kernel);
# - every pair within the cutoff, WHATEVER THE PERIOD: on a panel a city's rows of all years are pairs at distance 0;
# - distance "triangular" (default: an equirectangular approximation) or "spherical": haversine with
#   Earth radius 6376 km (12752 * asin(...)), where citynet's haversine uses 6371.0088 km;
# - scores: the FE-demeaned regressors times the residuals; bread (X~'X~)^-1;
# - small-sample factor n / (n - K) unless ssc(K.adj = FALSE) (K counts the fixed effects).
# citynet's conley:C on one period = vcov_conley(cutoff = C * 6376 / 6371.0088, distance = "spherical",
# ssc = ssc(K.adj = FALSE)); on a panel citynet takes same-year pairs only (Conley-Hsiang), reproduced here by
# fixest's own Conley meat (fixest:::vcov_conley_internal, sandwich = FALSE) of each year's rows of the panel
# fit's scores, summed over the years and put between the panel fit's bread.
suppressPackageStartupMessages({library(fixest); library(data.table); library(jsonlite)})
source("tests/references/write_json17.R")
setFixest_nthreads(1)
d <- "tests/references/data"
out <- list(meta = list(
  command = "R_LIBS=~/.cache/r-reference Rscript tests/references/conley_ppml.R",
  R = R.version.string,
  packages = list(fixest = as.character(packageVersion("fixest")), jsonlite = as.character(packageVersion("jsonlite"))),
  radius_fixest_km = 6376, radius_citynet_km = 6371.0088))

cy <- merge(fread(file.path(d, "synth_city_year.csv")), fread(file.path(d, "city_coords.csv")), by = "city_code")
cy[, city_code := as.character(city_code)]
setorder(cy, city_code, year)
to_fixest <- function(km) km * 6376 / 6371.0088  # citynet's cutoff as the same great-circle angle in fixest's km
noadj <- ssc(K.adj = FALSE)
cs <- function(m, v) list(coef = as.list(coef(m)), se = as.list(sqrt(diag(v))), nobs = nobs(m))

# ---- cross-sections (one year): citynet's and fixest's definitions coincide
cuts <- c(100, 200, 500)
xs <- cy[year == 2015]
for (fml_name in c("nofe", "region")) {
  fml <- if (fml_name == "nofe") ln_green ~ x1 + x2 else ln_green ~ x1 + x2 | region
  m <- feols(fml, xs)
  for (km in cuts) {
    key <- sprintf("xs_%s_%g", fml_name, km)
    out[[key]] <- c(cs(m, vcov(m, vcov = vcov_conley(lat = "lat", lon = "lon", cutoff = to_fixest(km),
                                                           distance = "spherical", ssc = noadj))),
                    list(cutoff_km = km, year = 2015,
                         # fixest's defaults as a user would call it: nominal cutoff, triangular distance, n/(n-K)
                         se_fixest_default = as.list(se(m, vcov = vcov_conley(lat = "lat", lon = "lon", cutoff = km))),
                         se_spherical_nominal_cutoff = as.list(sqrt(diag(vcov(m, vcov = vcov_conley(
                           lat = "lat", lon = "lon", cutoff = km, distance = "spherical", ssc = noadj)))))))
  }
}

# ---- panel: two-way FE OLS
m <- feols(ln_green ~ x1 + x2 | city_code + year, cy)
S <- estfun(m)                                    # demeaned X times residuals
B <- solve(crossprod(demean(m)[, c("x1", "x2")])) # (X~'X~)^-1
stopifnot(isTRUE(all.equal(as.numeric(B %*% crossprod(S) %*% B),  # the pieces are fixest's HC0 sandwich
                           as.numeric(vcov(m, vcov = "hetero", ssc = noadj)), tolerance = 1e-10)))
for (km in c(200, 500)) {
  # fixest's own panel Conley: all pairs within the cutoff, any years
  v_all <- vcov(m, vcov = vcov_conley(lat = "lat", lon = "lon", cutoff = to_fixest(km), distance = "spherical",
                                      ssc = noadj))
  # same-year pairs: fixest's Conley meat per year, summed
  meat <- matrix(0, 2, 2)
  for (t in sort(unique(cy$year))) {
    i <- cy$year == t
    meat <- meat + fixest:::vcov_conley_internal(bread = NULL, scores = S[i, , drop = FALSE],
                                                 vars = list(lat = cy$lat[i], lng = cy$lon[i]), ssc = noadj,
                                                 n = sum(i), K = 2, sandwich = FALSE, nthreads = 1,
                                                 cutoff = to_fixest(km), distance = "spherical")
  }
  v_year <- B %*% meat %*% B
  out[[sprintf("panel_%g", km)]] <- list(coef = as.list(coef(m)), nobs = nobs(m), cutoff_km = km,
                                         se_all_pairs = as.list(sqrt(diag(v_all))),
                                         se_same_year = as.list(setNames(sqrt(diag(v_year)), names(coef(m)))))
}

# ---- PPML pseudo R²: r2(fit, "pr2") = 1 - logLik / ll_null (fitstats.R). fixest's logLik of a weighted
# Poisson is sum(w * (y * eta - mu - lgamma(y + 1))) (estimation.R), but its null log-likelihood is
# sy * log(sy / sum(w)) - sy - sum(lgamma(y + 1)) with sy = sum(w * y) (femlm.R get_model_null): the
# log-factorials of the null model are NOT weighted (the fix of fixest issue #155 weighted sy and N only), so a
# weighted pseudo R² moves when the weights are rescaled and can be negative. citynet reports McFadden's
# 1 - logLik(fit) / logLik(null fit) with the null fit fixest's own weighted intercept-only fepois on the fit's
# sample (pr2_null_fit below); both fixest numbers are written. Unweighted the two coincide.
pois <- function(...) fepois(..., fixef.tol = 1e-11, glm.tol = 1e-12)
pr2 <- function(fml, data, wname = NULL) {
  m <- if (is.null(wname)) pois(fml, data) else pois(fml, data, weights = data[[wname]])
  s <- data[obs(m)]
  m0 <- if (is.null(wname)) pois(green_patents ~ 1, s) else pois(green_patents ~ 1, s, weights = s[[wname]])
  y <- s$green_patents; w <- if (is.null(wname)) rep(1, nrow(s)) else s[[wname]]
  list(pr2_fixest = unname(r2(m, "pr2")), pr2_null_fit = 1 - as.numeric(logLik(m)) / as.numeric(logLik(m0)),
       loglik = as.numeric(logLik(m)), ll_null_fixest = m$ll_null, loglik_null_fit = as.numeric(logLik(m0)),
       nobs = nobs(m), coef = as.list(coef(m)), sum_w = sum(w), sum_wy = sum(w * y),
       sum_lgamma = sum(lgamma(y + 1)), sum_w_lgamma = sum(w * lgamma(y + 1)))
}
cy[, w_mean1 := w / mean(w)]
out$ppml_twfe <- pr2(green_patents ~ x1 + x2 | city_code + year, cy)
out$ppml_twfe_w <- pr2(green_patents ~ x1 + x2 | city_code + year, cy, "w")
out$ppml_twfe_w_mean1 <- pr2(green_patents ~ x1 + x2 | city_code + year, cy, "w_mean1")
out$ppml_year_w <- pr2(green_patents ~ x1 + x2 | year, cy, "w")
out$ppml_nofe_w <- pr2(green_patents ~ x1 + x2, cy, "w")

write_json17(out, "tests/references/conley_ppml.json")
