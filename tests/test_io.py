"""Model files: round trips, refusal of bad files, atomic writes, checkpoints."""

import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import time

import numpy as np
import pytest

import glassnet as gn
from glassnet.io import FORMAT_VERSION, ModelFileError


def make_net(dtype="float64", seed=0):
    return gn.Network([gn.Dense(6, "relu"), gn.Dropout(0.1), gn.Dense(4, "tanh"),
                       gn.Dense(3, "softmax")], input_dim=5, seed=seed, dtype=dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_saved_network_loads_to_identical_predictions(tmp_path, dtype, rng):
    net = make_net(dtype)
    net.fit(rng.normal(size=(40, 5)), rng.integers(0, 3, 40), optimizer=gn.Adam(0.01),
            epochs=3)
    path = gn.save(net, tmp_path / "m.safetensors", {"classes": ["a", "b", "c"]})
    loaded = gn.load(path)
    X = rng.normal(size=(10, 5))
    assert loaded.params.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(loaded.forward(X), net.forward(X))
    assert loaded.get_config() == net.get_config()
    assert loaded.metadata == {"classes": ["a", "b", "c"]}


def test_model_file_is_plain_safetensors_with_named_tensors(tmp_path):
    from safetensors.numpy import load_file

    net = make_net()
    gn.save(net, tmp_path / "m.safetensors")
    tensors = load_file(tmp_path / "m.safetensors")
    assert set(tensors) == {"layers.0.W", "layers.0.b", "layers.2.W", "layers.2.b",
                            "layers.3.W", "layers.3.b"}
    np.testing.assert_array_equal(tensors["layers.2.W"], net.layers[2].W)


def _write_safetensors(path, tensors, metadata):
    from safetensors.numpy import save_file

    save_file(tensors, str(path), metadata=metadata)


def test_truncated_file_is_refused(tmp_path):
    path = gn.save(make_net(), tmp_path / "m.safetensors")
    data = path.read_bytes()
    for cut in (0, 4, 8, 50, len(data) // 2, len(data) - 1):
        path.write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match="truncated|too short|not a glassnet"):
            gn.load(path)


def test_random_bytes_are_refused(tmp_path, rng):
    path = tmp_path / "r.safetensors"
    for _ in range(20):
        path.write_bytes(rng.integers(0, 256, int(rng.integers(0, 400)), dtype=np.uint8)
                         .tobytes())
        with pytest.raises(ModelFileError):
            gn.load(path)


class _Boom:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_a_pickle_is_refused_and_never_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps(_Boom()))
    with pytest.raises(ModelFileError, match="pickle"):
        gn.load(path)
    assert not (tmp_path / "PWNED").exists()


def test_newer_format_version_is_refused(tmp_path):
    net = make_net()
    tensors = {f"layers.{i}.{k}": np.ascontiguousarray(getattr(net.layers[i], k))
               for i in (0, 2, 3) for k in "Wb"}
    _write_safetensors(tmp_path / "new.safetensors", tensors, {
        "glassnet.format_version": str(FORMAT_VERSION + 1),
        "glassnet.config": json.dumps(net.get_config())})
    with pytest.raises(ModelFileError, match="newer glassnet.*upgrade"):
        gn.load(tmp_path / "new.safetensors")


def test_header_that_lies_about_shapes_is_refused(tmp_path):
    net = make_net()
    config = net.get_config()
    config["layers"][0]["units"] = 7  # the tensors are for 6 units
    tensors = {f"layers.{i}.{k}": np.ascontiguousarray(getattr(net.layers[i], k))
               for i in (0, 2, 3) for k in "Wb"}
    _write_safetensors(tmp_path / "lie.safetensors", tensors, {
        "glassnet.format_version": "1", "glassnet.config": json.dumps(config)})
    with pytest.raises(ModelFileError, match="shape"):
        gn.load(tmp_path / "lie.safetensors")


def test_header_offsets_past_the_data_are_refused(tmp_path):
    path = gn.save(make_net(), tmp_path / "m.safetensors")
    data = path.read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    header["layers.0.W"]["data_offsets"][1] += 10_000
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + n:])
    with pytest.raises(ModelFileError, match="damaged|truncated"):
        gn.load(path)


def test_foreign_safetensors_file_is_refused(tmp_path):
    _write_safetensors(tmp_path / "other.safetensors", {"weight": np.zeros(3)}, {})
    with pytest.raises(ModelFileError, match="not a glassnet model"):
        gn.load(tmp_path / "other.safetensors")


def test_missing_file_and_folder_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model file"):
        gn.load(tmp_path / "absent.safetensors")
    with pytest.raises(ModelFileError, match="folder"):
        gn.load(tmp_path)


_SAVER = """
import sys, numpy as np, glassnet as gn
path = sys.argv[1]
nets = [gn.Network([gn.Dense(256, "relu"), gn.Dense(1, "sigmoid")], input_dim=200, seed=s)
        for s in (1, 2)]
print("ready", flush=True)
i = 0
while True:
    gn.save(nets[i % 2], path)
    i += 1
"""


def test_killing_a_saving_process_never_leaves_a_broken_file(tmp_path):
    path = tmp_path / "m.safetensors"
    expected = [gn.Network([gn.Dense(256, "relu"), gn.Dense(1, "sigmoid")], input_dim=200,
                           seed=s).params for s in (1, 2)]
    rng = np.random.default_rng(0)
    for _ in range(12):
        proc = subprocess.Popen([sys.executable, "-c", _SAVER, str(path)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.0, 0.15)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if path.exists():
            params = gn.load(path).params
            assert any(np.array_equal(params, e) for e in expected)
    assert path.exists()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "m.safetensors"]
    # A kill between mkstemp and rename may leave a temporary file; never the target broken.
    assert all(name.startswith(".m.safetensors.") for name in leftovers)


def test_ctrl_c_during_saves_leaves_no_temporary_file(tmp_path):
    """SIGINT (Ctrl-C) at random moments of a save loop: the interrupt waits for the write in
    flight, so neither a temporary file nor a broken model is left."""
    path = tmp_path / "m.safetensors"
    rng = np.random.default_rng(1)
    for _ in range(8):
        proc = subprocess.Popen([sys.executable, "-c", _SAVER, str(path)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.0, 0.15)))
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
        assert "KeyboardInterrupt" in stderr
        assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]
        gn.load(path)


_INTERRUPTED_SAVE = """
import os, signal, sys, tempfile
import glassnet as gn
made = tempfile.mkstemp

def mkstemp_then_ctrl_c(*args, **kwargs):
    result = made(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGINT)      # Ctrl-C the moment the temporary file exists
    return result

tempfile.mkstemp = mkstemp_then_ctrl_c
try:
    gn.save(gn.Network([gn.Dense(1, "sigmoid")], input_dim=2, seed=0), sys.argv[1])
except KeyboardInterrupt:
    print("interrupted")
"""


def test_ctrl_c_right_after_the_temporary_file_is_made_leaves_none(tmp_path):
    """The deterministic case of the test above: the interrupt lands between making the
    temporary file and the write's own cleanup. It waits for the rename, then arrives."""
    path = tmp_path / "m.safetensors"
    result = subprocess.run([sys.executable, "-c", _INTERRUPTED_SAVE, str(path)],
                            capture_output=True, text=True, timeout=60)
    assert "interrupted" in result.stdout, result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]
    gn.load(path)


def test_resumed_training_ends_exactly_like_an_uninterrupted_run(tmp_path, rng):
    X, y = rng.normal(size=(64, 5)), rng.integers(0, 3, 64)

    def run(epochs, folder=None):
        net = make_net(seed=3)
        net.fit(X, y, optimizer=gn.Adam(0.01), epochs=epochs, batch_size=16,
                checkpoint=folder)
        return net

    straight = run(10)
    run(4, tmp_path / "ckpt")            # "killed" after 4 epochs
    resumed = run(10, tmp_path / "ckpt")  # picks up at epoch 4
    assert resumed.params.tobytes() == straight.params.tobytes()
    assert len(resumed.history) == 10
    assert resumed.history["loss"] == straight.history["loss"]


def test_checkpoint_for_another_architecture_is_refused(tmp_path, rng):
    X, y = rng.normal(size=(20, 5)), rng.integers(0, 3, 20)
    make_net().fit(X, y, epochs=1, checkpoint=tmp_path)
    other = gn.Network([gn.Dense(3, "softmax")], input_dim=5)
    with pytest.raises(ModelFileError, match="different network"):
        other.fit(X, y, epochs=2, checkpoint=tmp_path)


def test_saved_files_get_ordinary_permissions_not_private_temp_ones(tmp_path):
    old = os.umask(0o022)
    try:
        path = gn.save(make_net(), tmp_path / "m.safetensors")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644
    path.chmod(0o600)
    gn.save(make_net(), path)
    assert path.stat().st_mode & 0o777 == 0o600, "replacing a file keeps its mode"


def test_checkpoint_without_its_weights_is_refused(tmp_path, rng):
    from safetensors.numpy import load_file, save_file

    X, y = rng.normal(size=(20, 5)), rng.integers(0, 3, 20)
    make_net().fit(X, y, optimizer=gn.Adam(0.01), epochs=1, checkpoint=tmp_path)
    path = tmp_path / "checkpoint.safetensors"
    with open(path, "rb") as fh:
        header = json.loads(fh.read(struct.unpack("<Q", fh.read(8))[0]))
    tensors = {k: v for k, v in load_file(path).items() if k != "params"}
    save_file(tensors, str(path), metadata=header["__metadata__"])
    with pytest.raises(ModelFileError, match="damaged.*weights are missing"):
        make_net().fit(X, y, optimizer=gn.Adam(0.01), epochs=2, checkpoint=tmp_path)
