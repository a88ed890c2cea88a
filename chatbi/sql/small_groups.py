"""Small groups re-identify people: what roles without PII access may get back (issue 18).

A marketer who may not see names or phone numbers could still single a buyer out: "银川高价值
用户按用户ID看GMV" lists three user ids with their spend; a count by gender in one city
returns groups of 1 and 2. For roles without PII access (marketer, merchant) the guard
(``chatbi.sql.guard``, rule 6b) therefore applies, when the policy sets a minimum group
size ``k`` (``access.yaml``: ``small_groups.min_group_size``, 50 by default, the same k as
campaign copy):

A. **No user-level identifiers.** No column of the result may be the user key (``user_id``)
   or computed from it outside an aggregate (``COUNT(DISTINCT user_id)`` is fine; ``user_id``,
   ``user_id + 0`` or a CTE column holding it are not) → ``sql_user_level_refused``.
B. **No group below k.** Every aggregate over a protected table (below) is rewritten with
   ``HAVING COUNT(DISTINCT <table>.user_id) >= k``: a group describing fewer than k people
   is left out (a note says so, and an empty answer says why).
C. **No rows of individual people.** A result that is not aggregated may not read a
   protected table's rows (directly, through derived tables or CTEs, or in a scalar
   subquery) → ``sql_small_group_refused``; filters (``WHERE user_id IN (SELECT …)``) may.

Protected tables: for marketers every table with the user key (orders, events, reviews,
users, user_profile…); for merchants, who see only their own orders anyway, the tables that
describe people (``small_groups.merchant_people_tables``, default ``users``): a merchant's own
monthly sales stay visible however few buyers it had, its buyers' attributes do not.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope

from chatbi.errors import GuardError

__all__ = ["protect_small_groups", "SMALL_GROUP_MARK"]

SMALL_GROUP_MARK = "chatbi_small_group"  # meta key on the HAVING conditions added here


def _refuse(code: str, zh: str, en: str) -> GuardError:
    return GuardError(f"{zh} / {en}", code=code)


def protect_small_groups(
    root: exp.Expr, schema: dict[str, object], *, k: int, user_key: str,
    protected: frozenset[str], role: str, dialect: str = "duckdb",
) -> bool:
    """Check rules A and C on ``root`` and add rule B's HAVING to it (in place).

    ``schema`` maps each table to its visible columns (as for ``qualify``); ``protected`` is
    the set of tables whose aggregates count people. Returns True when a HAVING was added.
    """
    selects = list(root.find_all(exp.Select))
    copy = root.copy()
    for index, node in enumerate(copy.find_all(exp.Select)):
        node.meta["chatbi_select"] = index
    qualified = qualify(copy, schema=schema, dialect=dialect, validate_qualify_columns=False,
                        quote_identifiers=False, identify=False)
    top = build_scope(qualified)
    if top is None:
        return False
    checker = _Checker(user_key.lower(), protected, k, role)
    checker.check_output(top)
    added = False
    for scope in top.traverse():
        select = scope.expression
        if not isinstance(select, exp.Select) or not _aggregated(select):
            continue
        if checker.person_grouped(scope):
            continue  # one group per person: rule C keeps it away from the output
        counted = checker.people_count(scope)
        if counted is None:
            continue
        position = select.meta.get("chatbi_select")
        if position is None:  # a SELECT the qualifier made up: cannot be tied back, fail closed
            raise _refuse("sql_small_group_refused", "无法检查这个查询的分组大小",
                          "cannot check the group sizes of this query")
        original = selects[position]
        minimum = exp.GTE(this=counted, expression=exp.Literal.number(int(k)))
        minimum.meta[SMALL_GROUP_MARK] = True
        condition: exp.Expr = minimum
        having = original.args.get("having")
        if having is not None:
            condition = exp.and_(having.this, condition)
        original.set("having", exp.Having(this=condition))
        added = True
    return added


def _aggregated(select: exp.Select) -> bool:
    """GROUP BY, or an aggregate function in the select list (outside window functions)."""
    if select.args.get("group") is not None:
        return True
    for projection in select.expressions:
        for agg in projection.find_all(exp.AggFunc):
            if not agg.find_ancestor(exp.Window) and not _in_subquery(agg, projection):
                return True
    return False


def _in_subquery(node: exp.Expr, stop: exp.Expr) -> bool:
    """True when ``node`` sits in a subquery nested inside ``stop``."""
    if node is stop:
        return False
    parent = node.parent
    while parent is not None and parent is not stop:
        if isinstance(parent, exp.Subquery | exp.Select):
            return True
        parent = parent.parent
    return False


class _Checker:
    def __init__(self, user_key: str, protected: frozenset[str], k: int, role: str):
        self.user_key = user_key
        self.protected = protected
        self.k = k
        self.role = role
        self.user_level: dict[int, set[str]] = {}  # id(scope) -> its output columns holding user ids

    # -- rule A and C ---------------------------------------------------------------------

    def check_output(self, top: Scope) -> None:
        for scope in top.traverse():  # children first: a scope's sources are known before it
            self.user_level[id(scope)] = self._user_level_outputs(scope)
        if self.user_level[id(top)]:
            column = sorted(self.user_level[id(top)])[0]
            what = column if column == self.user_key else f"{column} ← {self.user_key}"
            raise _refuse(
                "sql_user_level_refused",
                f"角色 {self.role} 不能查看用户级标识（{what}），请按分组汇总，每组至少 {self.k} 人",
                f"role {self.role} may not see user-level identifiers ({what}); aggregate over "
                f"groups of at least {self.k} people instead",
            )
        if self._reads_rows(top):
            raise self._rows_error()
        for scope in top.traverse():
            if scope.is_subquery and self._feeds_output(scope) and self._reads_rows(scope):
                raise self._rows_error()

    def _rows_error(self) -> GuardError:
        return _refuse(
            "sql_small_group_refused",
            f"角色 {self.role} 只能查看至少 {self.k} 人的汇总，不能查看单个用户的明细行，请用 GROUP BY 汇总",
            f"role {self.role} may see totals over groups of at least {self.k} people, not rows of "
            "individual people; aggregate with GROUP BY",
        )

    @staticmethod
    def _feeds_output(scope: Scope) -> bool:
        """A scalar subquery whose value is shown (not a WHERE / JOIN / HAVING filter)."""
        node = scope.expression
        while node is not None and node.parent is not None:
            if isinstance(node.parent, exp.Where | exp.Having | exp.Join | exp.Qualify):
                return False
            if isinstance(node.parent, exp.Select) and node.arg_key != "expressions":
                return False
            if isinstance(node.parent, exp.Select):
                return True
            node = node.parent
        return True

    def person_grouped(self, scope: Scope) -> bool:
        """An aggregate with one group per person (GROUP BY the user key)."""
        select = scope.expression
        group = select.args.get("group") if isinstance(select, exp.Select) else None
        return group is not None and any(self._holds_user_key(e, scope) for e in group.expressions)

    def _reads_rows(self, scope: Scope) -> bool:
        """Rows of individual people: not aggregated (or one group per person), reading a
        protected table's rows (itself or through sources)."""
        branches = getattr(scope, "union_scopes", None) or getattr(scope, "set_operation_scopes", None)
        if branches:
            return any(self._reads_rows(b) for b in branches)
        select = scope.expression
        if not isinstance(select, exp.Select):
            return False
        if _aggregated(select) and not self.person_grouped(scope):
            return False
        for _, source in scope.selected_sources.values():
            if isinstance(source, exp.Table) and source.name.lower() in self.protected:
                return True
            if isinstance(source, Scope) and self._reads_rows(source):
                return True
        return False

    def _user_level_outputs(self, scope: Scope) -> set[str]:
        branches = getattr(scope, "union_scopes", None) or getattr(scope, "set_operation_scopes", None)
        if branches:
            found: set[str] = set()
            for branch in branches:
                found |= self.user_level.get(id(branch), set())
            return found
        select = scope.expression
        if not isinstance(select, exp.Select):
            return set()
        out: set[str] = set()
        for projection in select.expressions:
            if self._holds_user_key(projection, scope):
                out.add(projection.alias_or_name.lower())
        return out

    def _holds_user_key(self, expression: exp.Expr, scope: Scope) -> bool:
        for column in expression.find_all(exp.Column):
            if _under_aggregate(column, expression) or _in_subquery(column, expression):
                continue
            if self._is_user_key(column, scope):
                return True
        return False

    def _is_user_key(self, column: exp.Column, scope: Scope) -> bool:
        name = column.name.lower()
        source = scope.selected_sources.get(column.table) if column.table else None
        if source is None:
            return name == self.user_key
        _, node = source
        if isinstance(node, exp.Table):
            return name == self.user_key
        if isinstance(node, Scope):
            return name in self.user_level.get(id(node), set())
        return name == self.user_key

    # -- rule B -----------------------------------------------------------------------------

    def people_count(self, scope: Scope) -> exp.Expr | None:
        """How many people an aggregate scope's group describes: ``COUNT(DISTINCT user_id)``
        of a protected table or of a derived table's user-id column; ``COUNT(*)`` over a
        derived table of one row per person. None when it reads no people's rows."""
        for alias, (_, source) in scope.selected_sources.items():
            if isinstance(source, exp.Table) and source.name.lower() in self.protected:
                return _count_distinct(exp.column(self.user_key, table=alias))
        for alias, (_, source) in scope.selected_sources.items():
            if not isinstance(source, Scope) or not self._reads_rows(source):
                continue
            columns = sorted(self.user_level.get(id(source), set()))
            if columns:
                return _count_distinct(exp.column(columns[0], table=alias))
            if self.person_grouped(source):
                return exp.Count(this=exp.Star())
            raise _refuse(
                "sql_small_group_refused",
                f"汇总个人明细时，派生表 {alias} 需要带上 {self.user_key} 以便检查分组至少 {self.k} 人",
                f"the derived table {alias} must keep {self.user_key} so that groups of at least "
                f"{self.k} people can be checked",
            )
        return None


def _count_distinct(column: exp.Expr) -> exp.Expr:
    return exp.Count(this=exp.Distinct(expressions=[column]))


def _under_aggregate(node: exp.Expr, stop: exp.Expr) -> bool:
    parent = node.parent
    while parent is not None and parent is not stop.parent:
        if isinstance(parent, exp.AggFunc) and not parent.find_ancestor(exp.Window):
            return True
        parent = parent.parent
    return False
