"""A sweep never loses its study: a cut journal, an interrupted run, a resume with other
settings; and its search space is checked by the recipe's rules."""

import pytest

optuna = pytest.importorskip("optuna")

from glassnet import tune  # noqa: E402


def _study(path, trials=3):
    study = optuna.create_study(study_name="s", storage=tune.journal(path))
    study.optimize(lambda t: t.suggest_float("a", 0, 1), n_trials=trials)
    return study


def test_a_journal_with_a_cut_last_record_resumes_and_keeps_the_cut_bytes(tmp_path):
    path = tmp_path / "journal.log"
    _study(path)
    whole = path.read_bytes()
    path.write_bytes(whole[:-25])                       # a crash in the last write
    note = tune.repair_journal(path)
    assert "last record was cut" in note
    assert path.read_bytes() + (tmp_path / "journal.log.cut").read_bytes() == whole[:-25]
    # Without the repair the next appended record joins the broken line and the study never
    # loads again; with it, the study goes on.
    study = optuna.load_study(study_name="s", storage=tune.journal(path))
    study.optimize(lambda t: t.suggest_float("a", 0, 1), n_trials=2)
    again = optuna.load_study(study_name="s", storage=tune.journal(path))
    # The cut record was the third trial's end: it reads as running (glassnet tune marks such
    # trials failed when interrupted); the two new trials complete after it.
    assert [t.state.name for t in again.trials] == ["COMPLETE", "COMPLETE", "RUNNING",
                                                    "COMPLETE", "COMPLETE"]
    assert tune.repair_journal(path) is None            # a whole journal is left alone


def test_trials_left_running_by_an_interrupted_sweep_are_marked_failed(tmp_path):
    study = _study(tmp_path / "journal.log", trials=1)
    study.ask()                                          # a worker killed mid-trial
    assert tune.fail_running(study) == 1
    again = optuna.load_study(study_name="s", storage=tune.journal(tmp_path / "journal.log"))
    assert [t.state.name for t in again.trials] == ["COMPLETE", "FAIL"]


def test_resuming_with_another_space_or_data_is_refused_naming_the_difference(tmp_path):
    study = _study(tmp_path / "journal.log", trials=1)
    space = tune.check_space({"layers": ["8"]})
    tune.check_resume(study, space, "moons", "-1")      # a new study records its settings
    tune.check_resume(study, space, "moons", "-1")      # the same settings resume
    with pytest.raises(ValueError, match="space: the study has"):
        tune.check_resume(study, tune.check_space({"layers": ["16"]}), "moons", "-1")
    with pytest.raises(ValueError, match="data: the study has 'moons', this command 'circles'"):
        tune.check_resume(study, space, "circles", "-1")


@pytest.mark.parametrize("space,message", [
    ({"learning_rate": {"low": -1, "high": 0.1}}, "learning_rate must be a number > 0"),
    ({"layers": ["10,,5"]}, "layers must be positive integers"),
    ({"dropout": [1.5]}, "dropout must be a number in"),
    ({"optimizer": ["adagrad"]}, "optimizer must be one of")])
def test_a_search_space_is_checked_by_the_recipes_rules(space, message):
    with pytest.raises(ValueError, match=message):
        tune.check_space(space)
