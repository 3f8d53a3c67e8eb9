"""The LLM drafter over real HTTP: a scripted OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from planner.campaign import run_campaign
from planner.drafters import LLMDrafter

pytest.importorskip("langchain_openai")


def _completion(arguments: dict) -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "scripted",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "COADraftSet", "arguments": json.dumps(arguments)},
                        }
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


@pytest.fixture
def scripted_server():
    requests: list[dict] = []
    reply = {
        "coas": [
            {
                "name": "Hold Johvi in strength",
                "concept": "Everything defends Johvi.",
                "tasks": [
                    {"unit": u, "action": "defend", "target": "johvi", "purpose": "retain johvi"}
                    for u in ("b-inf-1", "b-mech-2", "b-arm-3", "b-rec-1", "b-inf-4")
                ],
            }
        ]
    }

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server API)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            requests.append({"path": self.path, "body": json.loads(body)})
            payload = json.dumps(_completion(reply)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", requests
    finally:
        server.shutdown()
        server.server_close()


def test_openai_compatible_server_drafts_the_coa(tutorial, scripted_server, monkeypatch):
    base_url, requests = scripted_server
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-not-real")
    drafter = LLMDrafter("openai:scripted-model", base_url=base_url)
    aar = run_campaign(tutorial, seed=7, cycles=1, replications=2, drafter=drafter)
    aar = aar.model_dump(mode="json")
    blue = aar["cycles"][0]["plans"]["blue"]
    assert requests and requests[0]["path"] == "/v1/chat/completions"
    sent = json.dumps(requests[0]["body"])
    assert "COADraftSet" in sent and "b-inf-1" in sent  # the situation went to the model
    coa = blue["coas"][0]
    assert coa["name"] == "Hold Johvi in strength" and coa["drafted_by"].startswith("llm:")
    assert all(t["target"] == "johvi" and t["citations"] for t in coa["tasks"])
    assert "test-key-not-real" not in json.dumps(aar)
