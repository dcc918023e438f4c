"""chain.anvil: finding the npm-installed binary, starting a node on a free port, stopping it."""

import pytest

from chain.anvil import AnvilNotInstalled, anvil_binary, rpc_request, start_anvil


def test_missing_binary_says_to_run_npm_ci(tmp_path, monkeypatch):
    monkeypatch.delenv("ARENA_ANVIL_BIN", raising=False)
    with pytest.raises(AnvilNotInstalled, match="Run `npm ci`"):
        anvil_binary(repo_root=tmp_path)


def test_override_must_point_at_an_executable(tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_ANVIL_BIN", str(tmp_path / "nope"))
    with pytest.raises(AnvilNotInstalled, match="is not an executable file"):
        anvil_binary()


@pytest.mark.anvil
def test_anvil_starts_answers_and_stops():
    try:
        anvil_binary()
    except AnvilNotInstalled as exc:
        pytest.skip(str(exc))
    node = start_anvil(accounts=3)
    try:
        assert node.url == f"http://127.0.0.1:{node.port}"
        assert node.chain_id == 31337
        assert len(node.accounts) == len(node.private_keys) == 3
        assert int(rpc_request(node.url, "eth_getBalance", [node.accounts[0], "latest"]), 16) > 0
    finally:
        node.stop()
    assert node.process.poll() is not None
    with pytest.raises(OSError):
        rpc_request(node.url, "eth_chainId", timeout=0.5)
