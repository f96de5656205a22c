"""The command line's tables: columns as wide as their widest cell, `-` for nothing."""

from routing_cli.client import table


def test_a_table_without_rows_is_its_header():
    assert table(["at", "subject"], []) == "AT  SUBJECT"
    assert table(["a", "b"], [("x", None)]).splitlines() == ["A  B", "x  -"]
