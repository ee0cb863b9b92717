# Reference numbers from the R packages the estimators' authors maintain, for tests/test_references.py.
# Run from the repository root:  R_LIBS=~/.cache/r-reference Rscript tests/references/references.R
# (install the packages with ../shared/r-reference/install.sh; did2s is sourced from its tarball's R/did2s.R).
# Writes tests/references/references.json with every number at full precision (17 significant digits).
suppressPackageStartupMessages({
  library(fixest); library(did); library(systemfit); library(splm); library(spdep); library(spatialreg)
  library(data.table); library(jsonlite)
})
setFixest_nthreads(1)
d <- "tests/references/data"
out <- list(meta = list(
  command = "R_LIBS=~/.cache/r-reference Rscript tests/references/references.R",
  R = R.version.string,
  packages = sapply(c("fixest", "did", "systemfit", "splm", "spdep", "spatialreg"),
                    function(p) as.character(packageVersion(p)), simplify = FALSE)))
cs <- function(m) list(coef = as.list(coef(m)), se = as.list(se(m)), nobs = nobs(m))

cy <- fread(file.path(d, "synth_city_year.csv"))
cy[, city_code := as.character(city_code)]
# ---- feols, two-way FE, clustered by city (fixest defaults: ssc adj, K counts non-nested FE) and HC1
f <- ln_green ~ x1 + x2 + low_carbon | city_code + year
out$feols_cluster <- cs(feols(f, cy, vcov = ~city_code))
out$feols_hc1 <- cs(feols(f, cy, vcov = "hetero"))
out$feols_iid <- cs(feols(f, cy, vcov = "iid"))
# ---- fepois, two-way FE, clustered by city
# (tolerances tightened from fixest's defaults, fixef.tol 1e-6 and glm.tol 1e-8, so the reference itself is
# accurate beyond the 1e-6 the tests ask of citynet)
out$fepois_cluster <- cs(fepois(green_patents ~ x1 + low_carbon | city_code + year, cy, vcov = ~city_code,
                                fixef.tol = 1e-11, glm.tol = 1e-11))
# ---- TWFE DID and event study (fixest i() with ref -1, end points binned at -3 and +3)
out$did_twfe <- cs(feols(ln_green ~ low_carbon | city_code + year, cy, vcov = ~city_code))
cy[, rel := ifelse(first_treat > 0, pmin(pmax(year - first_treat, -3), 3), -1000)]
es <- feols(ln_green ~ i(rel, ref = c(-1, -1000)) | city_code + year, cy, vcov = ~city_code)
out$event_study <- cs(es)

# ---- gravity: PPML with origin-year and destination-year FE, clustered by pair
dy <- fread(file.path(d, "synth_dyad_year.csv"))
dy[, pair := paste(city_a, city_b)]
g <- fepois(collab ~ log_distance | city_a^year + city_b^year, dy, vcov = ~pair, fixef.tol = 1e-11, glm.tol = 1e-11)
out$gravity <- cs(g)
out$gravity_hc1 <- cs(summary(g, vcov = "hetero"))

# ---- Callaway-Sant'Anna: did::att_gt (no covariates), varying base, not-yet-treated and never-treated
cs_ref <- function(data, y, control) {
  a <- att_gt(yname = y, tname = "year", idname = "id", gname = "first_treat", data = data,
              control_group = control, base_period = "varying", bstrap = FALSE, cband = FALSE)
  s <- aggte(a, type = "simple", bstrap = FALSE, cband = FALSE)
  e <- aggte(a, type = "dynamic", bstrap = FALSE, cband = FALSE)
  list(g = a$group, t = a$t, att = a$att, se = a$se, simple = s$overall.att, simple_se = s$overall.se,
       e = e$egt, dynamic = e$att.egt, dynamic_se = e$se.egt)
}
mp <- as.data.frame(fread(file.path(d, "mpdta.csv")))
mp$id <- mp$countyreal
mp$first_treat <- mp$first.treat
out$cs_mpdta_notyet <- cs_ref(mp, "lemp", "notyettreated")
out$cs_mpdta_never <- cs_ref(mp, "lemp", "nevertreated")
cyd <- as.data.frame(cy)
cyd$id <- as.integer(factor(cyd$city_code))
out$cs_synth_notyet <- cs_ref(cyd, "ln_green", "notyettreated")
out$cs_synth_never <- cs_ref(cyd, "ln_green", "nevertreated")

# ---- Gardner two-stage DID (did2s 1.2.1, R/did2s.R), with and without a control
source(file.path(Sys.getenv("R_LIBS"), "src", "did2s", "R", "did2s.R"))
cy[, treat := low_carbon == 1]
g1 <- did2s(cy, yname = "ln_green", first_stage = ~ 0 | city_code + year, second_stage = ~ i(treat, ref = FALSE),
            treatment = "treat", cluster_var = "city_code", verbose = FALSE)
g2 <- did2s(cy, yname = "ln_green", first_stage = ~ x1 | city_code + year, second_stage = ~ i(treat, ref = FALSE),
            treatment = "treat", cluster_var = "city_code", verbose = FALSE)
out$did2s <- list(coef = unname(coef(g1)), se = unname(se(g1)))
out$did2s_x1 <- list(coef = unname(coef(g2)), se = unname(se(g2)))
# did2s's first stage is fixest::feols (fixef.tol 1e-6): the exact first stage by lm on the dummy design
exact2s <- function(ctrl) {
  un <- cy[treat == FALSE]
  f1 <- as.formula(paste("ln_green ~", paste(c(ctrl, "factor(city_code)", "factor(year)"), collapse = " + ")))
  m <- lm(f1, un)
  keep <- cy$city_code %in% un$city_code
  r <- cy$ln_green[keep] - predict(m, cy[keep])
  mean(r[cy$treat[keep]])
}
out$did2s_exact <- exact2s(character(0))
out$did2s_x1_exact <- exact2s("x1")

# ---- 3SLS (systemfit, GLS, residual covariance without df correction), two-way FE by demeaning
sysf <- function(dat) {
  e1 <- ln_green ~ ln_collab + x1 - 1
  e2 <- ln_collab ~ ln_green + x2 - 1
  systemfit(list(eq1 = e1, eq2 = e2), method = "3SLS", inst = ~ x1 + x2 + z1 - 1, data = dat,
            methodResidCov = "noDfCor", method3sls = "GLS")
}
dm <- copy(cy)
for (v in c("ln_green", "ln_collab", "x1", "x2", "z1")) {
  dm[, (v) := get(v) - mean(get(v)), by = city_code]
  dm[, (v) := get(v) - mean(get(v)), by = year]   # balanced panel: two sweeps are exact
}
s3 <- sysf(as.data.frame(dm))
out$three_sls_fe <- list(coef = as.list(coef(s3)), se = as.list(sqrt(diag(vcov(s3)))))
s3n <- systemfit(list(eq1 = ln_green ~ ln_collab + x1, eq2 = ln_collab ~ ln_green + x2), method = "3SLS",
                 inst = ~ x1 + x2 + z1, data = as.data.frame(cy), methodResidCov = "noDfCor", method3sls = "GLS")
out$three_sls <- list(coef = as.list(coef(s3n)), se = as.list(sqrt(diag(vcov(s3n)))))

# ---- spatial: SDM with city FE and two-way FE (Lee-Yu), splm::spml; impacts; Moran's I (spdep)
wdf <- fread(file.path(d, "synth_w.csv"))
codes <- as.character(wdf$city_code)
W <- as.matrix(wdf[, -"city_code"])
W <- W / rowSums(W)
lw <- mat2listw(W, style = "W")
sp <- fread(file.path(d, "synth_spatial.csv"))
sp[, city_code := factor(as.character(city_code), levels = codes)]
setorder(sp, year, city_code)
spd <- as.data.frame(sp[, .(city_code, year, ln_green, x1, x2)])
spd$w_x1 <- as.vector(sapply(split(spd$x1, spd$year), function(v) W %*% v))
spd$w_x2 <- as.vector(sapply(split(spd$x2, spd$year), function(v) W %*% v))
sdm <- function(effect) {
  m <- spml(ln_green ~ x1 + x2 + w_x1 + w_x2, data = spd, index = c("city_code", "year"), listw = lw,
            model = "within", effect = effect, lag = TRUE, spatial.error = "none", LeeYu = TRUE, Hess = FALSE)
  list(coef = as.list(c(coef(m))), se = as.list(sqrt(diag(m$vcov))), sigma2 = m$sigma2, rho = unname(m$coefficients[1]))
}
out$sdm_city <- sdm("individual")
out$sdm_twoway <- sdm("twoways")
# splm's LeeYu = TRUE with two-way FE is the direct approach plus Lee & Yu's analytic bias correction, not the
# transformation approach (xsmle's type(both, leeyu)) that citynet's correction = "leeyu" implements; the
# direct approach itself (LeeYu = FALSE) is citynet's correction = "none"
sdm_direct <- function(effect) {
  m <- spml(ln_green ~ x1 + x2 + w_x1 + w_x2, data = spd, index = c("city_code", "year"), listw = lw,
            model = "within", effect = effect, lag = TRUE, spatial.error = "none", LeeYu = FALSE, Hess = FALSE)
  list(coef = as.list(c(coef(m))), se = as.list(sqrt(diag(m$vcov))), sigma2 = m$sigma2, rho = unname(m$coefficients[1]))
}
out$sdm_twoway_direct <- sdm_direct("twoways")
# splm forms W·y from the demeaned y (wyt = W yt); citynet demeans W·y formed from the raw data. With two-way
# FE these agree only when the columns of W also sum to one, so the two-way comparison uses a ring W
# (each city's neighbours: the previous and the next in code order, weight 1/2 each; doubly stochastic)
ring <- matrix(0, nrow(W), nrow(W))
for (i in seq_len(nrow(W))) { ring[i, (i %% nrow(W)) + 1] <- 0.5; ring[i, ((i - 2) %% nrow(W)) + 1] <- 0.5 }
lw <- mat2listw(ring, style = "W")
spd$w_x1 <- as.vector(sapply(split(spd$x1, spd$year), function(v) ring %*% v))
spd$w_x2 <- as.vector(sapply(split(spd$x2, spd$year), function(v) ring %*% v))
out$sdm_twoway_ring_direct <- sdm_direct("twoways")
lw <- mat2listw(W, style = "W")
spd$w_x1 <- as.vector(sapply(split(spd$x1, spd$year), function(v) W %*% v))
spd$w_x2 <- as.vector(sapply(split(spd$x2, spd$year), function(v) W %*% v))
# LeSage-Pace impacts at the two-way estimates (exact, dense): direct = mean diag(S_k), total = mean rowsum
imp <- function(r) {
  rho <- r$rho; S <- solve(diag(nrow(W)) - rho * W)
  res <- list()
  for (v in c("x1", "x2")) {
    Sk <- S %*% (diag(nrow(W)) * r$coef[[v]] + W * r$coef[[paste0("w_", v)]])
    res[[v]] <- list(direct = mean(diag(Sk)), total = sum(Sk) / nrow(W), indirect = sum(Sk) / nrow(W) - mean(diag(Sk)))
  }
  res
}
out$impacts_twoway <- imp(out$sdm_twoway)
# spatialreg's impacts() on a cross-section SDM (lagsarlm Durbin) as a check of the formula
cs17 <- spd[spd$year == 2017, ]
lm17 <- lagsarlm(ln_green ~ x1 + x2, data = cs17, listw = lw, Durbin = TRUE, method = "eigen")
im <- impacts(lm17, listw = lw)
out$lagsarlm_2017 <- list(coef = as.list(coef(lm17)), rho = unname(lm17$rho), direct = im$direct,
                          indirect = im$indirect, total = im$total)
mi <- moran.test(cs17$ln_green, lw, randomisation = TRUE)
mn <- moran.test(cs17$ln_green, lw, randomisation = FALSE)
out$moran_2017 <- list(I = unname(mi$estimate[1]), EI = unname(mi$estimate[2]), VI_rand = unname(mi$estimate[3]),
                       VI_norm = unname(mn$estimate[3]), z_rand = unname(mi$statistic), z_norm = unname(mn$statistic))
# ---- an awkward panel (tests/references/make_awkward.py; tests/test_references_awkward.py): singletons (a cascade
# too), missing values in regressors, outcome and cluster, regressors collinear with the FE or each other, a lag
# across a gap, weights with zeros and a missing one, i() interactions, log of a count with zeros, 2SLS, fepois with
# all-zero groups and a separating dummy, a clustered VCOV that fixest makes positive definite. fixest's defaults.
aw <- fread(file.path(d, "awkward_city_year.csv"), colClasses = c(city_code = "character", province = "character"),
            na.strings = c("", "NA"))  # an empty province is missing (fread reads an empty text as "")
awk <- function(fml, vcov, est = feols, data = aw, ...) {
  notes <- character(0); said <- character(0)
  m <- withCallingHandlers(est(fml, data, vcov = vcov, ...),
                           warning = function(w) { notes <<- c(notes, conditionMessage(w)); invokeRestart("muffleWarning") },
                           message = function(w) { said <<- c(said, conditionMessage(w)); invokeRestart("muffleMessage") })
  list(coef = as.list(coef(m)), se = as.list(se(m)), nobs = nobs(m), removed = m$nobs_origin - nobs(m),
       collin = as.list(m$collin.var), warnings = as.list(notes),
       # what fixest prints ("NOTES: 9 observations removed because of NA values (LHS: 2, RHS: 4, vcov: 3)." …) and
       # the rows it left out (0-based rows of the data given it: obs() are the 1-based rows it used)
       notes = as.list(said), removed_rows = setdiff(seq_len(nrow(data)), obs(m)) - 1L,
       n_clusters = if (!is.null(attr(m$cov.scaled, "G"))) min(attr(m$cov.scaled, "G")) else NULL,
       r2 = if (identical(est, feols)) as.list(r2(m, c("r2", "ar2", "wr2"))) else NULL)
}
# glm.tol 1e-12: fixest forms the Hessian from the IRLS weights of the iteration before the last (the mean before the
# final update); at 1e-11 it stops one iteration earlier on fepois_nofe_hc1, whose SEs are then 2.6e-6 off the sandwich at
# the estimates (fixest_default below); at 1e-12 they equal it to 1e-9
pois <- function(...) fepois(..., fixef.tol = 1e-11, glm.tol = 1e-12)
base <- y ~ x1 + x4 | city_code + year
out$awkward <- list(
  ols_city = awk(base, ~city_code),
  ols_hc1 = awk(base, "hetero"),
  ols_province = awk(base, ~province),
  ols_province_year = awk(base, ~province + year),
  ols_two_year = awk(y ~ x1 + x4 + d | city_code + year, ~two + year),
  ols_weights = awk(base, ~city_code, weights = ~w),
  ols_collinear = awk(y ~ x1 + x2 + x3 + x4 + x5 | city_code + year, ~city_code),
  ols_lag = awk(y ~ l(x1, 1) + x4 | city_code + year, ~city_code, panel.id = ~city_code + year),
  ols_i = awk(y ~ x1 + i(region, x4, ref = "east") | city_code + year, ~city_code),
  ols_log = awk(log(cnt) ~ x1 + x4 | city_code + year, ~city_code),
  iv_province = awk(y ~ x4 | city_code + year | x1 ~ z, ~province),
  fepois_city = awk(cnt ~ x1 + x4 | city_code + year, ~city_code, est = pois),
  fepois_province = awk(cnt ~ x1 + x4 | city_code + year, ~province, est = pois),
  fepois_weights = awk(cnt ~ x1 + x4 | city_code + year, ~city_code, est = pois, weights = ~w),
  fepois_separated = awk(cnt ~ x1 + s | city_code + year, ~city_code, est = pois),
  fepois_nofe_hc1 = awk(cnt ~ x1 + x4, "hetero", est = pois),
  # 2SLS: weights (R² of a weighted second stage), and the small-sample factor's fixed-effect count with a cluster
  # that nests the city FE (city, province), one that nests the year FE only (year), hetero and iid
  iv_weights = awk(y ~ x4 | city_code + year | x1 ~ z, ~city_code, weights = ~w),
  iv_weights_hc1 = awk(y ~ x4 | city_code + year | x1 ~ z, "hetero", weights = ~w),
  iv_city = awk(y ~ x4 | city_code + year | x1 ~ z, ~city_code),
  iv_year = awk(y ~ x4 | city_code + year | x1 ~ z, ~year),
  iv_hc1 = awk(y ~ x4 | city_code + year | x1 ~ z, "hetero"),
  iv_iid = awk(y ~ x4 | city_code + year | x1 ~ z, "iid"),
  iv_province_year = awk(y ~ x4 | city_code + year | x1 ~ z, ~province^year),
  iv_absorbed_instrument = awk(y ~ x4 | city_code + year | x1 ~ z + x2, ~city_code),  # x2: constant within cities
  # an i() level that separates: kind is "b" on exactly the four rows where s = 1 (cnt = 0); fixest checks only
  # all-zero FE groups. On the rows it does not separate (s = 0) the estimates exist: kind::b is then absent
  fepois_i_separated = awk(cnt ~ x1 + i(kind, ref = "a") | city_code + year, ~city_code, est = pois),
  fepois_i_without_separated = awk(cnt ~ x1 + i(kind, ref = "a") | city_code + year, ~city_code, est = pois,
                                   data = aw[s == 0]))
# the first-stage Wald F with the model's VCOV (fitstat ivwald): statistic, p-value and its F(df1, df2)
for (k in c("iv_city", "iv_year", "iv_hc1", "iv_iid")) {
  v <- list(iv_city = ~city_code, iv_year = ~year, iv_hc1 = "hetero", iv_iid = "iid")[[k]]
  w <- fitstat(feols(y ~ x4 | city_code + year | x1 ~ z, aw, vcov = v, notes = FALSE), ~ivwald)[[1]]
  out$awkward[[k]]$ivwald <- list(stat = w$stat, p = w$p, df1 = w$df1, df2 = w$df2)
}
# an endogenous regressor that the exogenous ones determine (x5 = x1 + 2·x4): fixest stops
out$awkward$iv_endogenous_determined <- tryCatch(
  { feols(y ~ x4 + x5 | city_code + year | x1 ~ z, aw, notes = FALSE); "no error" },
  error = function(e) conditionMessage(e))
# fixest 0.14.2's r2() of a weighted 2SLS divides the unweighted sum of the second stage's squared residuals
# (iv_residuals) by weighted sums (ssr_null, and the weighted FE-only fit's for wr2), unlike a weighted OLS (whose
# ssr is weighted): the sums, and the R²s with the weighted sum Σ w û² throughout, from fixest's own residuals
ivw <- feols(y ~ x4 | city_code + year | x1 ~ z, aw, weights = ~w, notes = FALSE)
ivw_fe <- feols(y ~ 1 | city_code + year, aw[obs(ivw)], weights = ~w, notes = FALSE)
ivw_ssr <- sum(ivw$weights * ivw$iv_residuals^2)
out$awkward$iv_weights$sums <- list(ssq_iv_residuals = sum(ivw$iv_residuals^2), weighted_ssq_iv_residuals = ivw_ssr,
                                    ssr_null = ivw$ssr_null, ssr_fe_only = ivw_fe$ssr, nparams = ivw$nparams,
                                    r2 = 1 - ivw_ssr / ivw$ssr_null,
                                    ar2 = 1 - ivw_ssr / ivw$ssr_null * (nobs(ivw) - 1) / (nobs(ivw) - ivw$nparams),
                                    wr2 = 1 - ivw_ssr / ivw_fe$ssr)
out$awkward$fepois_nofe_hc1$fixest_default <- cs(fepois(cnt ~ x1 + x4, aw, vcov = "hetero", notes = FALSE))
# Sun-Abraham on the awkward panel: cohort ft = the first year with d = 1 (0: never treated). Cohort 2019 (city 103600,
# rows 2010 and 2019) is never observed at the reference period -1: fixest 0.14.2's sunab marks as missing the row whose
# number is that cohort's index among the cohorts (row 3, city 100000's 2012: cpp_find_never_always_treated's
# always_treated are cohort indices, used as row indices) and keeps the cohort, so its fit depends on the row order
# (sunab_full: as read; sunab_full_sorted: sorted by cohort). citynet drops the cohort's units (as did drops units
# treated from the first period): sunab_without_2019 is fixest on the panel without them, and sunab_singleton the same
# with city 100300 (cohort 2014) kept in 2015 only, a fixed-effect singleton inside a cell of the ATT's weights.
aw[, ft := if (any(d == 1)) min(year[d == 1]) else 0L, by = city_code]
sa_aw <- function(data) {
  m <- feols(y ~ x1 + sunab(ft, year) | city_code + year, data, vcov = ~city_code, notes = FALSE)
  a <- summary(m, agg = "ATT")
  list(term = names(coef(m)), coef = unname(coef(m)), se = unname(se(m)), att = unname(coef(a)["ATT"]),
       att_se = unname(se(a)["ATT"]), nobs = nobs(m), removed_rows = setdiff(seq_len(nrow(data)), obs(m)) - 1L)
}
out$awkward$sunab_full <- sa_aw(aw)
out$awkward$sunab_full_sorted <- sa_aw(aw[order(ft, city_code, year)])
out$awkward$sunab_without_2019 <- sa_aw(aw[city_code != "103600"])
out$awkward$sunab_singleton <- sa_aw(aw[city_code != "103600" & !(city_code == "100300" & year != 2015)])
# did2s on the awkward panel (missing y and x1, treated rows in years without an untreated row, singletons). did2s 1.2.1
# loses the city "100000" in its standard error: fixest::sparse_model_matrix names its dummy "city_code::1e+05" and the
# city's untreated rows get no dummy in the first-stage design (any code R prints in scientific notation: 100000,
# 200000, …, 500000). did2s is therefore run with the codes prefixed ("c100000"); did2s_code_100000 keeps the codes
awd <- copy(aw)[, treat := d == 1]
d2s <- function(data, fs) {
  g <- did2s(data, yname = "y", first_stage = fs, second_stage = ~ i(treat, ref = FALSE), treatment = "treat",
             cluster_var = "city", verbose = FALSE)
  list(coef = unname(coef(g)), se = unname(se(g)), nobs = nobs(g))
}
awd[, city := paste0("c", city_code)]
out$awkward$did2s <- d2s(awd, ~ 0 | city + year)
out$awkward$did2s_x1 <- d2s(awd, ~ x1 | city + year)
awd[, city := city_code]
out$awkward$did2s_code_100000 <- d2s(awd, ~ 0 | city + year)
source("tests/references/write_json17.R")
write_json17(out, "tests/references/references.json")
cat("wrote tests/references/references.json\n")
