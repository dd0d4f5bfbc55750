import pytest
from django.core.management import CommandError
from django.utils import translation

from taocun.core.commands import TaocunCommand
from taocun.core.errors import ImportRejected, NotFound, RowError, ValidationError


def test_error_carries_code_field_and_location():
    error = ValidationError("bad", field="amount", location="orders.csv:12")
    assert error.as_dict() == {
        "code": "invalid",
        "message": "bad",
        "field": "amount",
        "location": "orders.csv:12",
    }
    assert str(error) == "orders.csv:12, amount: bad"
    assert NotFound("x").http_status == 404


def test_import_rejected_lists_every_row():
    with translation.override("en"):
        error = ImportRejected(
            "a.csv", [RowError(3, "code", "not 12 digits", "12")], truncated=True
        )
        text = str(error)
        assert "a.csv: 1 bad row (stopped at the error limit); nothing was imported" in text
        assert "a.csv: line 3, field code: not 12 digits (got '12')" in text
        assert error.as_dict()["errors"][0]["line"] == 3
        two = ImportRejected("b.csv", [RowError(2, "name", "empty"), RowError(5, "row", "short")])
        assert str(two).splitlines() == [
            "b.csv: 2 bad rows; nothing was imported",
            "b.csv: line 2, field name: empty",
            "b.csv: line 5, field row: short",
        ]


@pytest.mark.parametrize(
    ("language", "summary", "row"),
    [
        (
            "zh-hans",
            "b.csv：2 行有误，未导入任何数据",
            "b.csv: 第 5 行，字段 code：太短（实际为 '12'）",
        ),
        (
            "fr",
            "b.csv : 2 lignes erronées ; rien n’a été importé",
            "b.csv: ligne 5, champ code : trop court (reçu '12')",
        ),
    ],
)
def test_import_errors_speak_the_users_language(language, summary, row):
    with translation.override(language):
        error = ImportRejected(
            "b.csv",
            [
                RowError(2, "name", "x"),
                RowError(5, "code", "太短" if language == "zh-hans" else "trop court", "12"),
            ],
        )
        lines = str(error).splitlines()
    assert lines[0] == summary
    assert lines[2] == row


def test_cli_translation_is_a_clean_command_error():
    class Failing(TaocunCommand):
        def handle(self, *args, **options):
            raise ValidationError("nope", field="x")

    with pytest.raises(CommandError) as info:
        Failing().execute(
            verbosity=0,
            no_color=True,
            force_color=False,
            skip_checks=True,
            traceback=False,
            stdout=None,
            stderr=None,
        )
    assert str(info.value) == "x: nope"
    assert info.value.returncode == 2
