"""Evaluation harness: question sets with gold SQL, a runner, result comparison, a report.

Public API: ``load_question_set(path) -> QuestionSet``, ``run_eval(path_or_set, pipeline,
*, progress=None) -> EvalReport`` (``.to_dict()``, ``.render(console)``), and
``eval_command(path, db_path, as_json) -> int`` for ``chatbi eval``.
"""

from chatbi.eval.command import eval_command
from chatbi.eval.compare import Comparison, compare_results
from chatbi.eval.format import Case, QuestionSet, QuestionSetError, Turn, load_question_set
from chatbi.eval.report import EvalReport, QuestionResult
from chatbi.eval.runner import run_eval

__all__ = [
    "Case", "Comparison", "EvalReport", "QuestionResult", "QuestionSet", "QuestionSetError", "Turn",
    "compare_results", "eval_command", "load_question_set", "run_eval",
]
