# Shared by references.R and designs.R (both run from the repository root): write a list as JSON with
# every double at 17 significant digits. jsonlite prints at most 15 whatever `digits` says, so doubles are
# written as literal JSON with sprintf("%.17g") (an exact round trip), missing values as null.
num17 <- function(x) {
  if (is.list(x)) return(lapply(x, num17))
  if (!is.double(x)) return(x)
  v <- ifelse(is.finite(x), sprintf("%.17g", x), "null")
  structure(if (length(x) == 1 && is.null(names(x))) v else paste0("[", paste(v, collapse = ", "), "]"), class = "json")
}
write_json17 <- function(out, path) {
  writeLines(jsonlite::toJSON(num17(out), auto_unbox = TRUE, pretty = TRUE, json_verbatim = TRUE), path)
}
