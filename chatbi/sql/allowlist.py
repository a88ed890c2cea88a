"""What SQL syntax the guard accepts: allow-lists of sqlglot node types and function names.

Everything not listed here is refused. A new sqlglot release that parses some construct into
a new expression type therefore fails closed (refused) instead of open. Functions are
allowed either as a known sqlglot expression type (``SAFE_FUNCTION_TYPES``) or, when sqlglot
parses them as ``Anonymous``, by their lower-case DuckDB name (``SAFE_FUNCTION_NAMES``). No
function that reads files, the network, the catalog, the environment or settings is listed
(``read_*``, ``glob``, ``getenv``, ``current_setting``, ``query``, ``duckdb_*``, ``pragma_*``…).
"""

from __future__ import annotations

from sqlglot import exp


def _types(*names: str) -> frozenset[type[exp.Expr]]:
    """Expression classes by name; names missing from this sqlglot version are skipped."""
    found = (getattr(exp, name, None) for name in names)
    return frozenset(cls for cls in found if isinstance(cls, type))


# Structural (non-function) nodes a SELECT may contain.
SAFE_NODE_TYPES = _types(
    # query shape
    "Select", "Union", "Intersect", "Except", "Subquery", "From", "Join", "Lateral", "Where",
    "Group", "Having", "Qualify", "Order", "Ordered", "Limit", "Fetch", "LimitOptions", "Offset",
    "With", "CTE",
    "TableAlias", "Alias", "Table", "Column", "Identifier", "Star", "Values", "Tuple",
    "Distinct", "Cube", "Rollup", "GroupingSets", "TableSample", "Window", "WindowSpec",
    "Filter", "WithinGroup", "IgnoreNulls", "RespectNulls", "Paren",
    # literals and types
    "Literal", "Boolean", "Null", "RawString", "National", "HexString", "ByteString",
    "BitString", "UnicodeString", "DataType", "DataTypeParam", "Interval", "IntervalSpan",
    "Var",
    # operators
    "Neg", "Not", "Add", "Sub", "Mul", "Div", "IntDiv", "Mod", "DPipe", "BitwiseAnd",
    "BitwiseOr", "BitwiseXor", "BitwiseNot", "BitwiseLeftShift", "BitwiseRightShift", "EQ",
    "NEQ", "GT", "GTE", "LT", "LTE", "NullSafeEQ", "NullSafeNEQ", "Is", "In", "Between",
    "Like", "ILike", "SimilarTo", "Glob", "Escape", "Any", "All", "Bracket", "Slice",
    "AtTimeZone",
)

# Parents under which a bare ``Var`` (a keyword such as a date part) is harmless.
VAR_PARENT_TYPES = tuple(_types(
    "Interval", "IntervalSpan", "Extract", "DataType", "DataTypeParam", "TableSample",
    "WindowSpec", "DateTrunc", "TimestampTrunc", "DatetimeTrunc", "TimeTrunc", "DateAdd",
    "DateSub", "DateDiff", "TimestampAdd", "TimestampSub", "TimestampDiff", "DatetimeAdd",
    "DatetimeSub", "DatetimeDiff", "TimeAdd", "TimeSub", "TimeDiff", "TsOrDsAdd",
    "TsOrDsDiff", "DateBin", "LastDay", "Week", "WeekStart",
))

# Function expression types (sqlglot classes) known to be pure computations.
SAFE_FUNCTION_TYPES = _types(
    # logic and conditionals
    "And", "Or", "Xor", "Case", "If", "Coalesce", "Nullif", "Greatest", "Least", "Exists",
    "Cast", "TryCast", "EqualNull",
    # aggregates
    "AnyValue", "ApproxDistinct", "ApproxQuantile", "ArgMax", "ArgMin", "ArrayAgg", "Avg",
    "Corr", "Count", "CountIf", "CovarPop", "CovarSamp", "First", "FirstValue", "GroupConcat",
    "Kurtosis", "Last", "LastValue", "LogicalAnd", "LogicalOr", "Max", "Median", "Min", "Mode",
    "PercentileCont", "PercentileDisc", "Quantile", "Skewness", "Stddev", "StddevPop",
    "StddevSamp", "Sum", "Variance", "VariancePop", "Grouping", "GroupingId", "RegrSlope",
    "RegrIntercept", "RegrR2", "BitwiseAndAgg", "BitwiseOrAgg", "BitwiseXorAgg",
    "ArrayUniqueAgg", "ArrayConcatAgg",
    # window functions
    "CumeDist", "DenseRank", "Lag", "Lead", "NthValue", "Ntile", "PercentRank", "Rank",
    "RowNumber",
    # math
    "Abs", "Ceil", "Floor", "Round", "Sqrt", "Cbrt", "Exp", "Ln", "Log", "Pow", "Sign", "Trunc",
    "Pi", "Degrees", "Radians", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Atan2", "IsNan",
    "IsInf", "SafeDivide", "Rand", "Factorial",
    # strings
    "Concat", "ConcatWs", "Length", "Lower", "Upper", "Substring", "Trim", "Left", "Right",
    "Replace", "Repeat", "Reverse", "StrPosition", "SplitPart", "Split", "StartsWith",
    "EndsWith", "Contains", "RegexpLike", "RegexpILike", "RegexpExtract", "RegexpExtractAll",
    "RegexpReplace", "RegexpSplit", "RegexpFullMatch", "Levenshtein", "JarowinklerSimilarity",
    "Translate", "Initcap", "Pad", "Ascii", "Chr", "Unicode", "Format", "MD5", "SHA", "SHA2",
    "Hex", "Unhex", "ArrayToString", "StringToArray", "Typeof", "Uuid",
    # dates and times
    "CurrentDate", "CurrentTimestamp", "CurrentTime", "Localtimestamp", "Date", "DateAdd",
    "DateSub", "DateDiff", "DateTrunc", "DateBin", "TimestampTrunc", "DatetimeTrunc",
    "TimestampAdd", "TimestampSub", "TimestampDiff", "TimeAdd", "TimeSub", "DatetimeAdd",
    "DatetimeSub", "DatetimeDiff", "Extract", "Year", "Quarter", "Month", "Week", "WeekOfYear",
    "Day", "DayOfMonth", "DayOfWeek", "DayOfWeekIso", "DayOfYear", "Hour", "Minute", "Second",
    "Dayname", "Monthname", "LastDay", "StrToTime", "StrToDate", "TimeToStr", "TimeStrToTime",
    "TimeStrToDate", "TsOrDsToDate", "TsOrDsAdd", "TsOrDsDiff", "TsOrDsToTimestamp",
    "UnixToTime", "TimeToUnix", "StrToUnix", "DateStrToDate", "DateToDateStr",
    "DateFromParts", "TimestampFromParts", "MakeInterval", "Timestamp", "Time", "AddMonths",
    "MonthsBetween", "ToDays", "UnixDate", "UnixSeconds", "DateFromUnixDate",
    # lists
    "Array", "ArrayContains", "ArraySize", "ArrayConcat", "ArraySlice", "ArrayDistinct",
    "ArraySort", "ArrayPosition", "ArrayOverlaps", "ArrayContainsAll", "ArrayFirst",
    "ArrayLast", "ArrayMax", "ArrayMin", "ArraySum", "ArrayReverse", "Flatten", "StructExtract",
    "Explode", "Unnest", "GenerateSeries", "ExplodingGenerateSeries", "ToArray", "List",
)

# DuckDB functions sqlglot parses as ``Anonymous`` that are pure computations.
SAFE_FUNCTION_NAMES = frozenset({
    # dates and times
    "date_part", "datepart", "date_sub", "date_diff", "datediff", "datetrunc", "date_trunc",
    "age", "century", "decade", "era", "millennium", "epoch", "epoch_ms", "epoch_us",
    "epoch_ns", "isodow", "isoyear", "weekday", "yearweek", "julian", "millisecond",
    "microsecond", "make_date", "make_time", "make_timestamp", "strftime", "strptime",
    "time_bucket", "to_timestamp", "to_days", "to_months", "to_years", "to_hours",
    "to_minutes", "to_seconds", "to_weeks", "to_milliseconds", "to_microseconds", "now",
    "today", "get_current_timestamp", "transaction_timestamp", "current_localtimestamp",
    "last_day", "dayname", "monthname",
    # aggregates
    "histogram", "mode", "median", "quantile", "quantile_cont", "quantile_disc",
    "approx_count_distinct", "approx_quantile", "arg_max", "arg_min", "argmax", "argmin",
    "max_by", "min_by", "bool_and", "bool_or", "count_if", "countif", "first", "last",
    "any_value", "list", "array_agg", "string_agg", "fsum", "sumkahan", "kahan_sum", "product",
    "favg", "mean", "entropy", "kurtosis", "skewness", "stddev", "stddev_pop", "stddev_samp",
    "var_pop", "var_samp", "variance", "corr", "covar_pop", "covar_samp", "regr_slope",
    "regr_intercept", "regr_r2", "regr_count", "bit_and", "bit_or", "bit_xor", "geomean",
    "geometric_mean",
    # window functions
    "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead",
    "first_value", "last_value", "nth_value",
    # math
    "round", "round_even", "even", "ceil", "ceiling", "floor", "trunc", "abs", "sign", "sqrt",
    "cbrt", "power", "pow", "exp", "ln", "log", "log2", "log10", "mod", "pi", "isnan", "isinf",
    "isfinite", "gcd", "lcm", "bit_count", "random", "greatest", "least", "nullif", "ifnull",
    "coalesce", "bar", "format_bytes", "to_base", "bin", "hex", "unhex", "to_hex", "from_hex",
    # strings
    "concat", "concat_ws", "lower", "upper", "lcase", "ucase", "trim", "ltrim", "rtrim", "lpad",
    "rpad", "length", "char_length", "strlen", "substring", "substr", "left", "right",
    "replace", "reverse", "repeat", "position", "strpos", "instr", "split_part",
    "string_split", "str_split", "string_split_regex", "regexp_split_to_array",
    "regexp_matches", "regexp_full_match", "regexp_replace", "regexp_extract", "contains",
    "starts_with", "ends_with", "prefix", "suffix", "ascii", "chr", "ord", "unicode",
    "format", "printf", "translate", "nfc_normalize", "strip_accents", "levenshtein",
    "damerau_levenshtein", "hamming", "jaccard", "jaro_similarity", "jaro_winkler_similarity",
    "mismatches", "md5", "sha256", "hash",
    # lists
    "list_value", "list_extract", "list_element", "array_extract", "list_contains",
    "list_has", "array_has", "array_contains", "list_has_any", "list_has_all",
    "array_has_any", "array_has_all", "array_length", "len", "cardinality", "list_aggregate",
    "array_aggregate", "list_sort", "array_sort", "list_reverse_sort", "list_distinct",
    "array_distinct", "list_unique", "array_unique", "list_slice", "array_slice",
    "list_position", "array_position", "list_concat", "array_concat", "list_cat", "flatten",
    "list_reverse", "array_reverse", "list_max", "list_min", "list_sum", "list_avg",
    "list_count", "list_first", "list_last", "array_to_string", "list_to_string",
    "element_at", "struct_extract", "unnest", "range", "generate_series", "typeof",
    "grouping", "grouping_id", "uuid", "gen_random_uuid",
})

# Functions allowed in table position (``FROM f(...)``).
SAFE_TABLE_FUNCTION_TYPES = _types("Unnest", "GenerateSeries", "ExplodingGenerateSeries")
SAFE_TABLE_FUNCTION_NAMES = frozenset({"unnest", "range", "generate_series"})

# Statements (not queries): refused as "not a SELECT" wherever they appear.
STATEMENT_TYPES = tuple(_types(
    "DML", "DDL", "Command", "Pragma", "Set", "Copy", "Attach", "Detach", "Install", "Use",
    "Transaction", "Commit", "Rollback", "Describe", "Show", "Summarize", "Export", "Load",
    "Merge", "Insert", "Update", "Delete", "Create", "Drop", "Alter", "Into", "Lock",
))


# The engines the guard writes SQL for, and the schema each keeps its tables in by default.
ENGINE_DIALECTS = frozenset({"duckdb", "postgres", "spark"})
DEFAULT_SCHEMAS = {"duckdb": "main", "postgres": "public", "spark": "default"}

# Per-engine review of the allow-list. Everything above is allowed by name or type, so a
# function not listed is refused anyway; these are refused *by name* on the engine where they
# reach outside the query (files, other servers, Java, sleeping, settings), so that no later
# addition to the lists above, and no sqlglot parse of engine SQL into a listed type, can let
# one through. Prefixes cover families (``pg_*``: catalog, files, backend control; ``lo_*``:
# large objects that read and write server files).
ENGINE_REFUSED_FUNCTIONS: dict[str, frozenset[str]] = {
    "duckdb": frozenset({"read_csv", "read_csv_auto", "read_parquet", "read_json", "read_text",
                         "read_blob", "glob", "getenv", "current_setting", "query",
                         "query_table"}),
    "postgres": frozenset({
        "dblink", "dblink_exec", "dblink_connect", "dblink_send_query", "copy", "set_config",
        "current_setting", "query_to_xml", "table_to_xml", "cursor_to_xml", "txid_current",
        "nextval", "setval", "currval", "lastval", "version", "inet_server_addr",
        "current_user", "session_user", "current_database", "current_schema", "has_table_privilege",
    }),
    "spark": frozenset({
        "reflect", "java_method", "try_reflect", "input_file_name", "input_file_block_start",
        "input_file_block_length", "current_user", "current_catalog", "current_database",
        "current_schema", "version", "read_files", "assert_true", "raise_error", "spark_partition_id",
    }),
}
ENGINE_REFUSED_PREFIXES: dict[str, tuple[str, ...]] = {
    "duckdb": ("duckdb_", "pragma_", "read_"),
    "postgres": ("pg_", "lo_", "dblink"),
    "spark": ("java_", "reflect", "read_"),
}


def refused_on_engine(name: str, engine: str) -> bool:
    """True when ``name`` reaches outside the query on ``engine`` (see ENGINE_REFUSED_*)."""
    name = name.lower()
    return name in ENGINE_REFUSED_FUNCTIONS.get(engine, frozenset()) or name.startswith(
        ENGINE_REFUSED_PREFIXES.get(engine, ()))


def function_name(node: exp.Func) -> str:
    """The SQL name of a function node, lower-case (``read_csv``, ``sum``)."""
    if isinstance(node, exp.Anonymous | exp.AnonymousAggFunc):
        return str(node.name).lower()
    return node.sql_name().lower()


def is_safe_function(node: exp.Func, engine: str = "duckdb") -> bool:
    """True when the function computes only from its arguments (on ``engine``)."""
    if refused_on_engine(function_name(node), engine):
        return False
    if isinstance(node, exp.Anonymous | exp.AnonymousAggFunc):
        return str(node.name).lower() in SAFE_FUNCTION_NAMES
    return type(node) in SAFE_FUNCTION_TYPES


def is_safe_table_function(node: exp.Expr, engine: str = "duckdb") -> bool:
    """True for the few table functions allowed in ``FROM`` (unnest, range, generate_series)."""
    if isinstance(node, exp.Func) and refused_on_engine(function_name(node), engine):
        return False
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower() in SAFE_TABLE_FUNCTION_NAMES
    return type(node) in SAFE_TABLE_FUNCTION_TYPES
