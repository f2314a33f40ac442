"""The HELM backend serves every column of the table contract (magnet/tables), on the real demo corpus."""

import pytest

from magnet.backends.helm.outputs import HelmOutputs
from magnet.tables import REQUIRED_COLUMNS, TABLES, missing_columns


@pytest.mark.parametrize("table", TABLES)
def test_helm_demo_tables_hold_the_contract_columns(small_root, table):
    df = HelmOutputs.coerce(small_root).table(table)
    assert len(df) > 0
    assert missing_columns(table, df) == []


def test_missing_columns_names_what_is_absent_and_rejects_unknown_tables():
    import pandas as pd
    assert missing_columns("run_specs", pd.DataFrame(columns=["suite"])) == list(REQUIRED_COLUMNS["run_specs"])[1:]
    with pytest.raises(ValueError, match="unknown table 'nope'"):
        missing_columns("nope", pd.DataFrame())
