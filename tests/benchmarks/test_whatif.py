"""The what-if variants do what their names say, so that the costs they show are the ones named."""

from pathlib import Path

import pytest
from benchmarks._payloads import PAYLOADS
from benchmarks.whatif import CRYPT, RUNS, _calling_first, _without_cipher

import jamsession

DATA = PAYLOADS["typical"]


async def test_the_no_cipher_stand_in_keeps_aes_gcm_sizes_and_round_trips(tmp_path: Path) -> None:
    async with (
        jamsession.open("sqlite", path=str(tmp_path / "real.db"), **CRYPT) as real,
        _without_cipher(jamsession.open("sqlite", path=str(tmp_path / "stand-in.db"), **CRYPT)) as stand_in,
    ):
        token = await stand_in.create("user", DATA)

        assert DATA == await stand_in.get(token)
        assert len(real._dump_data(DATA)) == len(stand_in._dump_data(DATA))
        assert len(await real.create("user", DATA)) == len(token)


async def test_calling_first_makes_one_call_per_serialized_write_and_stores_as_before(tmp_path: Path) -> None:
    calls: list[None] = []
    async with _calling_first(
        jamsession.open("sqlite", path=str(tmp_path / "s.db")), lambda: calls.append(None)
    ) as store:
        token = await store.create("user", DATA)
        await store.update(token, DATA)
        new_token = await store.rework(token)

        assert DATA == await store.get(new_token)
    assert 2 == len(calls)


@pytest.mark.parametrize("run", ["crypt-call", "id-cache"])
async def test_crypt_runs_print_every_variant_against_crypt_off(
    run: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await RUNS[run](tmp_path)

    lines = capsys.readouterr().out.splitlines()
    expected = {
        "crypt-call": [
            "crypt on",
            "crypt on, no cipher",
            "crypt off, one-byte AES-GCM",
            "crypt off, one-byte SHA-256",
        ],
        "id-cache": ["crypt on", "crypt on, no token cache"],
    }[run]
    assert expected == [line.strip().split(" / ")[0] for line in lines[1:]]
    assert all("create" in line and "delete" in line for line in lines[1:])
