import pytest
from django.core.management import CommandError

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
    error = ImportRejected("a.csv", [RowError(3, "code", "not 12 digits", "12")], truncated=True)
    text = str(error)
    assert "a.csv: 1 bad row(s) (stopped at the error limit); nothing was imported" in text
    assert "a.csv: line 3, field code: not 12 digits (got '12')" in text
    assert error.as_dict()["errors"][0]["line"] == 3


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
