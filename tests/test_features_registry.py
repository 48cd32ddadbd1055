"""The feature registry (definitions as code) and `labelops features list / describe`."""

from __future__ import annotations

import json

import pytest

from features.config import DEFAULT_PARAMS
from features.registry import BY_TABLE, FEATURE_SETS, find_feature, get, set_for_entity_columns
from jobs.cli import main as cli
from schemas import features as fx


def test_every_published_table_is_a_registered_feature_set_with_described_features():
    assert set(BY_TABLE) == {c.qualified_name for c in (*fx.DAILY_TABLES, *fx.FEATURE_TABLES)}
    for fs in FEATURE_SETS.values():
        names = [f.name for f in fs.features]  # raises if a contract column has no description
        assert names == [c for c in fs.contract.columns if c not in (*fs.entity, fs.date_column, "feature_ts")]
        assert all(f.description and f.dtype for f in fs.features)
        assert fs.version and fs.owner and fs.ttl.days >= 1


def test_windowed_features_carry_their_window():
    fs = get("labeler_queue_features")
    by_name = {f.name: f for f in fs.features}
    assert by_name["gold_accuracy_lb_28d"].window == "28d" and by_name["judgments_all"].window == "all"
    assert by_name["active_seconds_p50_7d"].dtype == "double" and by_name["gold_confusion_28d"].window is None
    assert "active_seconds_p50_all" not in by_name  # no all-time quantiles


def test_definition_hash_follows_definitions_and_parameters():
    fs = get("labeler_features")
    assert fs.definition_hash() == fs.definition_hash(DEFAULT_PARAMS)
    assert fs.definition_hash(DEFAULT_PARAMS.with_overrides(ew_half_life_days=7.0)) != fs.definition_hash()
    assert get("features.labeler_features") is fs


def test_entity_columns_choose_the_feature_view():
    assert set_for_entity_columns(["labeler_id", "ts"]).name == "labeler_features"
    assert set_for_entity_columns(["labeler_id", "queue", "ts"]).name == "labeler_queue_features"
    assert set_for_entity_columns(["task_id", "ts"]).name == "task_features"
    assert set_for_entity_columns(["queue", "ts"]).name == "queue_daily"
    with pytest.raises(KeyError, match="Entity files look like"):
        set_for_entity_columns(["site", "ts"])


def test_cli_list_and_describe(capsys):
    assert cli(["features", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["feature_sets"]
    assert {s["name"] for s in listed} == set(FEATURE_SETS)
    assert all(s["definition_hash"] and s["version"] for s in listed)

    assert cli(["features", "list"]) == 0
    assert "labeler_queue_features" in capsys.readouterr().out

    assert cli(["features", "describe", "task_features", "--json"]) == 0
    described = json.loads(capsys.readouterr().out)
    assert described["entity"] == ["task_id"] and any(f["name"] == "sla_slack_hours" for f in described["features"])

    assert cli(["features", "describe", "gold_accuracy_lb_28d"]) == 0
    out = capsys.readouterr().out
    assert "labeler_features" in out and "labeler_queue_features" in out and "credible" in out
    assert len(find_feature("gold_accuracy_lb_28d")) == 2

    assert cli(["features", "describe", "no_such_thing"]) == 1
