"""Feedback that becomes tests: verdicts recorded from the item page (with the token)
and `monitor feedback add`, exported by `monitor feedback export` as a labelled JSONL
corpus that `monitor eval` loads and scores."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from monitor.classify.evaluate import load_corpus
from monitor.cli import main
from monitor.store.sql import SqlStore
from monitor.testing.feedserver import FeedServer
from monitor.testing.kit import NotifierCapture
from monitor.web.app import build_app
from monitor.web.testing import ServedApp, run_world, world_config


def test_feedback_from_the_page_and_the_cli_exports_a_corpus_eval_scores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FeedServer() as server:
        config = world_config(tmp_path, server, only=["drills", "weather"], web={"token": "t0k"})
        run_world(config, NotifierCapture())
    store = SqlStore(config.store.sqlalchemy_url())
    drills = store.find_item("https://asia-wire.example/drills")
    weather = store.find_item("https://kcna-watch.example/weather")
    assert drills and weather
    with ServedApp(build_app(store, config)) as served:
        url = served.url(f"/item/{drills}/feedback")
        form = {"verdict": "wrong_type", "type": "security", "comment": "coast guard"}
        assert httpx.post(url, data=form).status_code == 403  # no token: read-only
        auth = {"authorization": "Bearer t0k"}
        assert httpx.post(url, data=form, headers=auth).status_code == 303
        bad = httpx.post(url, data={"verdict": "wrong_type", "type": "x"}, headers=auth)
        assert bad.status_code == 400
        page = httpx.get(served.url(f"/item/{drills}")).text
        assert "wrong type</strong>: security coast guard" in page
    store.close()

    path = tmp_path / "monitor.toml"
    path.write_text(f'[store]\npath = "{config.store.path}"\n', encoding="utf-8")
    assert main(["feedback", "add", str(weather), "--relevant", "-c", str(path)]) == 0
    assert main(["feedback", "add", "https://nowhere.example", "--relevant",
                 "-c", str(path)]) == 1  # fmt: skip
    corpus = tmp_path / "corpus.jsonl"
    assert main(["feedback", "export", "-o", str(corpus), "-c", str(path)]) == 0
    lines = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]
    by_url = {line["url"]: line for line in lines}
    drill = by_url["https://asia-wire.example/drills"]
    assert drill["relevant"] is True and drill["types"] == ["security"]
    assert drill["primary"] == "security" and drill["feedback"] == "wrong_type"
    assert drill["classified_as"]["types"] == ["military"]
    assert "joint military exercise" in drill["text"]
    assert by_url["https://kcna-watch.example/weather"]["relevant"] is True

    labelled = load_corpus(corpus)
    assert len(labelled) == 2
    capsys.readouterr()
    assert main(["eval", str(corpus), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 2
    # the weather report is relevant by the analyst's word and the classifier missed it
    assert report["relevance"]["tp"] == 1 and report["relevance"]["fn"] == 1
    assert "security" in json.dumps(report["types"])  # the analyst's type is scored

    assert main(["feedback", "list", "-c", str(path)]) == 0
    listed = capsys.readouterr().out
    assert "wrong type: security coast guard" in listed and "relevant" in listed
