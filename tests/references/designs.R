# Reference numbers for the referees' designs (tests/test_design_references.py), from the R packages the
# estimators' authors maintain: fixest (Sun-Abraham, 2SLS), did + DRDID (Callaway-Sant'Anna with covariates),
# plm (random-effects Tobit, pldv).
# Run from the repository root:  R_LIBS=~/.cache/r-reference Rscript tests/references/designs.R
# (packages: bash ../shared/r-reference/install.sh, or scripts/install-r-reference.sh; `make references`).
# Writes tests/references/designs.json with every number at 17 significant digits.
suppressPackageStartupMessages({
  library(fixest); library(did); library(DRDID); library(plm); library(data.table); library(jsonlite)
})
setFixest_nthreads(1)
d <- "tests/references/data"
pk <- c("fixest", "did", "DRDID", "BMisc", "plm", "maxLik", "jsonlite")
out <- list(meta = list(
  command = "R_LIBS=~/.cache/r-reference Rscript tests/references/designs.R",
  R = R.version.string,
  packages = sapply(pk, function(p) as.character(packageVersion(p)), simplify = FALSE)))

cy <- fread(file.path(d, "synth_city_year.csv"))
cy[, city_code := as.character(city_code)]
mp <- as.data.frame(fread(file.path(d, "mpdta.csv")))

# ---- Sun-Abraham: fixest::sunab, event-time aggregation (default) and the ATT (summary(agg = "ATT"))
sa_ref <- function(m) {
  a <- summary(m, agg = "ATT")
  list(term = names(coef(m)), coef = unname(coef(m)), se = unname(se(m)),
       att = unname(coef(a)["ATT"]), att_se = unname(se(a)["ATT"]), nobs = nobs(m))
}
out$sunab_mpdta <- sa_ref(feols(lemp ~ sunab(first.treat, year) | countyreal + year, mp, vcov = ~countyreal))
# synth: the cities first treated in the first year (2010) have no pre-period; both sides drop them
cys <- cy[first_treat != 2010]
out$sunab_synth <- sa_ref(feols(ln_green ~ x1 + sunab(first_treat, year) | city_code + year, cys,
                                vcov = ~city_code))

# ---- Callaway-Sant'Anna with covariates: did::att_gt(xformla = ..., est_method = dr | reg | ipw), analytic SEs
csx_ref <- function(data, y, xf, method, control, base = "varying") {
  a <- att_gt(yname = y, tname = "year", idname = "id", gname = "first_treat", data = data, xformla = xf,
              est_method = method, control_group = control, base_period = base, bstrap = FALSE, cband = FALSE)
  ag <- function(type) aggte(a, type = type, bstrap = FALSE, cband = FALSE, na.rm = TRUE)
  s <- ag("simple"); e <- ag("dynamic"); g <- ag("group"); ca <- ag("calendar")
  list(g = a$group, t = a$t, att = a$att, se = a$se,
       simple = s$overall.att, simple_se = s$overall.se,
       e = e$egt, dynamic = e$att.egt, dynamic_se = e$se.egt, dynamic_overall = e$overall.att,
       dynamic_overall_se = e$overall.se,
       group = g$egt, group_att = g$att.egt, group_se = g$se.egt, group_overall = g$overall.att,
       group_overall_se = g$overall.se,
       calendar = ca$egt, calendar_att = ca$att.egt, calendar_se = ca$se.egt, calendar_overall = ca$overall.att,
       calendar_overall_se = ca$overall.se)
}
mp$id <- mp$countyreal
mp$first_treat <- mp$first.treat
for (m in c("dr", "reg", "ipw")) {
  out[[paste0("cs_mpdta_lpop_", m)]] <- csx_ref(mp, "lemp", ~lpop, m, "nevertreated")
}
out$cs_mpdta_lpop_dr_notyet <- csx_ref(mp, "lemp", ~lpop, "dr", "notyettreated")
out$cs_mpdta_lpop_dr_universal <- csx_ref(mp, "lemp", ~lpop, "dr", "nevertreated", "universal")
cyd <- as.data.frame(cy)
cyd$id <- as.integer(factor(cyd$city_code))
# time-varying covariates: did takes them from the base period of each 2x2 comparison
for (m in c("dr", "reg", "ipw")) {
  out[[paste0("cs_synth_x_", m)]] <- csx_ref(cyd, "ln_green", ~x1 + x2, m, "nevertreated")
}
out$cs_synth_x_dr_notyet <- csx_ref(cyd, "ln_green", ~x1 + x2, "dr", "notyettreated")
out$cs_synth_x_dr_universal <- csx_ref(cyd, "ln_green", ~x1 + x2, "dr", "nevertreated", "universal")

# ---- 2SLS: fixest::feols(y ~ exog | fe | endog ~ instruments), clustered by city; first-stage F statistics
iv_ref <- function(m) {
  fs <- fitstat(m, ~ivf + ivwald + cd)
  endo <- m$iv_endo_names
  st1 <- summary(m, stage = 1)
  if (inherits(st1, "fixest")) st1 <- list(st1) else st1 <- lapply(seq_along(endo), function(i) st1[[i]])
  list(term = names(coef(m)), coef = unname(coef(m)), se = unname(se(m)), nobs = nobs(m),
       endog = endo,
       ivf = sapply(endo, function(e) fs[[paste0("ivf1::", e)]]$stat, USE.NAMES = FALSE),
       ivwald = sapply(endo, function(e) fs[[paste0("ivwald1::", e)]]$stat, USE.NAMES = FALSE),
       cd = fs$cd,
       first_coef = lapply(st1, function(f) as.list(coef(f))),
       first_se = lapply(st1, function(f) as.list(se(f))),
       r2 = as.list(r2(m, c("r2", "ar2", "wr2"))))
}
out$iv_one <- iv_ref(feols(ln_green ~ x2 | city_code + year | x1 ~ low_carbon + z1, cy, vcov = ~city_code))
out$iv_two <- iv_ref(feols(ln_green ~ x2 | city_code + year | x1 + ln_collab ~ low_carbon + z1 + green_patents,
                           cy, vcov = ~city_code))
out$iv_two_hc1 <- iv_ref(feols(ln_green ~ x2 | city_code + year | x1 + ln_collab ~ low_carbon + z1 + green_patents,
                               cy, vcov = "hetero"))
out$iv_two_iid <- iv_ref(feols(ln_green ~ x2 | city_code + year | x1 + ln_collab ~ low_carbon + z1 + green_patents,
                               cy, vcov = "iid"))

# ---- random-effects Tobit left-censored at 0 on ln_collab (the synth panel's zeros): plm::pldv, model = "random"
# (non-adaptive Gauss-Hermite quadrature with R nodes, maxLik). R = 100 nodes: the likelihood is then exact to
# 1e-8 (R = 12 is 0.2 log-likelihood points off on this panel; citynet's quadrature is adaptive)
pcy <- pdata.frame(as.data.frame(cy), index = c("city_code", "year"))
re <- pldv(ln_collab ~ x1 + x2 + low_carbon, pcy, model = "random", lower = 0, R = 100)
cr <- coef(re)
out$tobit_re <- list(term = names(cr), coef = unname(cr), se = unname(sqrt(diag(vcov(re)))),
                     loglik = as.numeric(logLik(re)), nodes = 100, n_cens = sum(cy$ln_collab <= 0), nobs = nrow(cy))

# ---- PSM: not referenced here. Debian's MatchIt 4.5.1 (the version installable offline) does not return the
# nearest control: on a 200-unit toy panel (x ~ N(0,1), d ~ Bernoulli(plogis(x - 1))) its 1:1 nearest matches
# on its own linear-logit distance agree with the brute-force nearest control for 43% of treated units with
# replacement and 62% without (cf. kosukeimai/MatchIt#159 on 4.5.x's match.matrix); citynet's matching is
# tested against scikit-learn's nearest neighbours and by hand in tests/test_designs_psm.py instead.

source("tests/references/write_json17.R")
write_json17(out, "tests/references/designs.json")
cat("wrote tests/references/designs.json\n")
