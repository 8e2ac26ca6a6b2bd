"""Bluejay events-webhook bodies for the sidecar's tests: the examples of
``docs/events-webhook.md`` (read from the doc itself), builders for each of the
four variants, and invalid variants (each required field removed, wrong types),
each with the field path the sidecar must name in its 400
(``digital_humans[0].phone_number`` style).

``schema_validator()`` loads ``events-webhook.schema.json`` (Draft 2020-12) from
the shared Bluejay folder; test_webhook.py checks that every valid body here
passes it and every invalid one fails it, so the tests and the schema agree.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import jsonschema

from bluejay_standin import shared_dir

SCHEMA_FILE = "events-webhook.schema.json"
DOC_FILE = Path("docs") / "events-webhook.md"

VARIANTS = ("simulation_result_evaluated", "observability_call_evaluated", "simulation_ended",
            "outbound_simulation_started")

# Required fields per variant, as the schema says (checked against it in test_webhook.py).
REQUIRED = {
    "simulation_result_evaluated": ("id", "digital_human_id", "simulation_run_id", "simulation_id", "agent_id"),
    "observability_call_evaluated": ("id", "agent_id", "recording_url", "start_time_utc", "participants", "status"),
    "simulation_ended": ("id", "digital_human_id", "simulation_run_id"),
    "outbound_simulation_started": ("agent_id", "simulation_id", "simulation_run_id", "digital_humans"),
}


def schema_path() -> Path:
    return shared_dir() / SCHEMA_FILE


def schema_validator() -> jsonschema.Draft202012Validator:
    p = schema_path()
    if not p.is_file():
        raise FileNotFoundError(f"events-webhook schema not found at {p} (set BLUEJAY_SHARED_DIR)")
    schema = json.loads(p.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def schema_errors(body: Any, validator: Optional[jsonschema.Draft202012Validator] = None) -> list[str]:
    v = validator or schema_validator()
    return [f"{format_path(e.absolute_path)}: {e.message}" for e in v.iter_errors(body)]


def format_path(parts) -> str:
    """['digital_humans', 0, 'phone_number'] -> 'digital_humans[0].phone_number'."""
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out


# --- the doc's examples -------------------------------------------------------------

@dataclass(frozen=True)
class Example:
    name: str
    body: dict

    @property
    def type(self) -> str:
        return self.body["type"]


def doc_examples(doc: Optional[Path] = None) -> list[Example]:
    """Every JSON object in the doc that starts a line and has a ``type``
    (the bare examples at the top and the fenced one per variant), de-duplicated."""
    path = doc or (shared_dir() / DOC_FILE)
    text = path.read_text()
    dec = json.JSONDecoder()
    seen: set[str] = set()
    out: list[Example] = []
    i = 0
    counts: dict[str, int] = {}
    while i < len(text):
        if text[i] == "{" and (i == 0 or text[i - 1] == "\n"):
            try:
                obj, end = dec.raw_decode(text, i)
            except ValueError:
                i += 1
                continue
            if isinstance(obj, dict) and isinstance(obj.get("type"), str):
                key = json.dumps(obj, sort_keys=True)
                if key not in seen:
                    seen.add(key)
                    counts[obj["type"]] = counts.get(obj["type"], 0) + 1
                    out.append(Example(f"doc-{obj['type']}-{counts[obj['type']]}", obj))
            i = end
            continue
        i += 1
    return out


# --- builders ---------------------------------------------------------------------------

def evaluation(*, goal_success: Optional[bool] = True, hallucination: Optional[bool] = False,
               p50: Optional[float] = 412.0, p90: Optional[float] = 880.0, eval_id: str = "eval-1",
               created_at: str = "2025-01-15T10:00:00Z") -> dict:
    return {
        "id": eval_id,
        "created_at": created_at,
        "hallucination": hallucination,
        "hallucination_reasoning": "The agent only stated facts from its tools.",
        "redundancy": False,
        "redundancy_reasoning": None,
        "agent_speak_percentage": 48.5,
        "avg_agent_latency": (p50 or 0) * 1.1,
        "latency": {"avg_agent_latency": (p50 or 0) * 1.1, "max_agent_latency": (p90 or 0) * 1.5,
                    "p50_agent_latency": p50, "p90_agent_latency": p90,
                    "p95_agent_latency": (p90 or 0) * 1.1, "p99_agent_latency": (p90 or 0) * 1.3},
        "filler_ignored_latency": {"avg_filler_ignored_latency": 300.0, "p50_filler_ignored_latency": 280.0,
                                   "p90_filler_ignored_latency": 600.0, "p95_filler_ignored_latency": 650.0,
                                   "p99_filler_ignored_latency": 700.0},
        "num_turns": 12,
        "call_summary": "The caller checked an order; the agent looked it up.",
        "custom_evals": [],
        "custom_evals_success_rate": 1.0,
        "goal_success": goal_success,
        "goal_reasoning": "The order status was given." if goal_success else "The order was not found.",
        "pronunciation_score": 0.93,
        "pronunciation_reasoning": "clear",
        "custom_metrics": [{"name": "politeness", "description": "Was the agent polite?",
                            "response_type": "boolean", "response_value": "true", "reasoning": "yes",
                            "min_value": None, "max_value": None, "category": "tone", "tags": ["tone"],
                            "scoring_guidance": "true if polite", "enum_options": []}],
    }


def eval_tool_calls() -> list[dict]:
    return [{"name": "lookup_order", "start_offset_ms": 1200, "description": "Look up an order",
             "parameters": {"order_id": "ORD-0001"}, "output": {"status": "shipped"}},
            {"name": "create_ticket", "start_offset_ms": 2500, "parameters": {"priority": 3}, "output": None}]


def simulation_result_evaluated(sim_id: int, *, goal_success: Optional[bool] = True,
                                hallucination: Optional[bool] = False, p50: Optional[float] = 412.0,
                                p90: Optional[float] = 880.0, status: str = "COMPLETED",
                                tool_calls: Optional[list] = None, evaluations: Optional[list] = None,
                                **extra: Any) -> dict:
    b = {
        "type": "simulation_result_evaluated",
        "id": sim_id,
        "digital_human_id": 31,
        "status": status,
        "simulation_run_id": 4101,
        "simulation_id": 77,
        "agent_id": 5,
        "folder_id": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
        "evaluations": evaluations if evaluations is not None else [
            evaluation(goal_success=goal_success, hallucination=hallucination, p50=p50, p90=p90)],
        "created_at": "2025-01-15T09:58:00Z",
        "start_time": "2025-01-15T09:58:01Z",
        "end_time": "2025-01-15T09:59:30Z",
        "duration": 89,
        "latency": [p50 or 0.0, p90 or 0.0],
        "events": [{"title": "greeting_done", "start_offset_ms": 100, "end_offset_ms": 900,
                    "tags": ["phase:intro"], "metadata": {"k": 1}}],
        "tool_calls": tool_calls if tool_calls is not None else eval_tool_calls(),
        "tags": ["regression"],
        "metadata": {"suite": "sidecar-e2e"},
    }
    b.update(extra)
    return b


def observability_call_evaluated(call_id: str, *, goal_success: Optional[bool] = True,
                                 hallucination: Optional[bool] = False, p50: Optional[float] = 350.0,
                                 p90: Optional[float] = 700.0, status: str = "COMPLETED",
                                 tool_calls: Optional[list] = None, **extra: Any) -> dict:
    b = {
        "type": "observability_call_evaluated",
        "id": call_id,
        "agent_id": "agent-5",
        "external_agent_id": None,
        "recording_url": None,
        "start_time_utc": "2025-01-15T10:05:00Z",
        "participants": [{"role": "AGENT", "spoke_first": True, "name": "Support bot", "phone_number": None},
                         {"role": "USER", "spoke_first": False, "name": "Caller",
                          "phone_number": "+14155550123"}],
        "call_direction": "INBOUND",
        "interface": "PHONE",
        "status": status,
        "created_at": "2025-01-15T10:07:00Z",
        "transcript_url": None,
        "tool_calls": tool_calls if tool_calls is not None else eval_tool_calls(),
        "events": [],
        "tags": ["observability"],
        "duration_ms": 95000,
        "evaluations": [evaluation(goal_success=goal_success, hallucination=hallucination, p50=p50, p90=p90,
                                   eval_id="eval-obs-1")],
        "annotations": [],
        "metadata": {"source": "sidecar-e2e"},
        "custom_metrics": [],
        "conversation_ended_by": "USER",
    }
    b.update(extra)
    return b


def simulation_ended(sim_id: int, *, status: str = "CONVERSATION_ENDED", **extra: Any) -> dict:
    b = {"type": "simulation_ended", "id": sim_id, "digital_human_id": 31, "status": status,
         "simulation_run_id": 4101, "created_at": "2025-01-15T09:58:00Z",
         "start_time": "2025-01-15T09:58:01Z", "end_time": "2025-01-15T09:59:30Z", "duration": 89}
    b.update(extra)
    return b


def digital_human(phone_number: str, sim_ids: list[int], *, dh_id: int = 31, name: str = "Impatient Ian") -> dict:
    return {"id": dh_id, "name": name, "phone_number": phone_number,
            "associated_simulation_result_ids": list(sim_ids)}


def outbound_simulation_started(digital_humans: Optional[list] = None, **extra: Any) -> dict:
    b = {"type": "outbound_simulation_started", "agent_id": 5, "simulation_id": 77,
         "simulation_run_id": 4101,
         "digital_humans": digital_humans if digital_humans is not None else [
             digital_human("+1 (415) 555-0100", [901, 902])]}
    b.update(extra)
    return b


def unknown_type(kind: str = "agent_deployed", **extra: Any) -> dict:
    b = {"type": kind, "id": 42, "note": "a kind Bluejay may add later"}
    b.update(extra)
    return b


def valid_bodies() -> list[tuple[str, dict]]:
    """(name, body): one built body per variant."""
    return [("built-simulation_result_evaluated", simulation_result_evaluated(123)),
            ("built-observability_call_evaluated", observability_call_evaluated("obs-call-1")),
            ("built-simulation_ended", simulation_ended(124)),
            ("built-outbound_simulation_started", outbound_simulation_started())]


def minimal_bodies() -> list[tuple[str, dict]]:
    """(name, body): each variant with its required fields only."""
    full = dict(valid_bodies())
    out = []
    for t in VARIANTS:
        b = full[f"built-{t}"]
        m = {"type": t, **{k: b[k] for k in REQUIRED[t]}}
        if t == "outbound_simulation_started":
            m["digital_humans"] = [{k: dh[k] for k in ("id", "name", "phone_number")} for dh in b["digital_humans"]]
        out.append((f"minimal-{t}", m))
    return out


# --- invalid bodies -----------------------------------------------------------------------

@dataclass(frozen=True)
class Invalid:
    name: str
    body: Any          # dict, or bytes for malformed JSON
    field: Optional[str]   # what the 400 must name (None: not checked, e.g. malformed JSON)
    group: str         # missing_required | wrong_type | id_type | nested | read_field | malformed


def _without(body: dict, path: list) -> dict:
    b = copy.deepcopy(body)
    cur = b
    for p in path[:-1]:
        cur = cur[p]
    del cur[path[-1]]
    return b


def _with(body: dict, path: list, value: Any) -> dict:
    b = copy.deepcopy(body)
    cur = b
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value
    return b


# a value of the wrong JSON type for each required field
_WRONG = {"integer": "123", "string": 123, "array": {"not": "a list"}}
_FIELD_TYPES = {
    "simulation_result_evaluated": {"id": "integer", "digital_human_id": "integer", "simulation_run_id": "integer",
                                    "simulation_id": "integer", "agent_id": "integer"},
    "observability_call_evaluated": {"id": "string", "agent_id": "string", "start_time_utc": "string",
                                     "participants": "array"},
    "simulation_ended": {"id": "integer", "digital_human_id": "integer", "simulation_run_id": "integer"},
    "outbound_simulation_started": {"agent_id": "integer", "simulation_id": "integer",
                                    "simulation_run_id": "integer", "digital_humans": "array"},
}


# identifiers: the schema types them (integer, or string for observability), so an id of the
# other JSON type is a wrong type; kept in their own group ("id_type") because a reader may
# choose to treat ids as opaque (see test_webhook.py)
_ID_FIELDS = {"id", "digital_human_id", "simulation_run_id", "simulation_id", "agent_id"}


def invalid_bodies() -> list[Invalid]:
    full = dict(valid_bodies())
    out: list[Invalid] = []
    for t in VARIANTS:
        b = full[f"built-{t}"]
        for f in REQUIRED[t]:
            out.append(Invalid(f"{t}-missing-{f}", _without(b, [f]), f, "missing_required"))
        for f, kind in _FIELD_TYPES[t].items():
            group = "id_type" if f in _ID_FIELDS else "wrong_type"
            out.append(Invalid(f"{t}-{f}-wrong-type", _with(b, [f], _WRONG[kind]), f, group))
    # observability: status is an enum of strings; recording_url is a required nullable string
    obs = full["built-observability_call_evaluated"]
    out.append(Invalid("observability_call_evaluated-status-wrong-type", _with(obs, ["status"], 3), "status",
                       "wrong_type"))
    out.append(Invalid("observability_call_evaluated-recording_url-wrong-type",
                       _with(obs, ["recording_url"], 17), "recording_url", "wrong_type"))
    # nested required fields / types
    osb = full["built-outbound_simulation_started"]
    for f in ("id", "name", "phone_number"):
        out.append(Invalid(f"outbound_simulation_started-digital_humans0-missing-{f}",
                           _without(osb, ["digital_humans", 0, f]), f"digital_humans[0].{f}", "nested"))
    out.append(Invalid("outbound_simulation_started-digital_humans0-phone_number-wrong-type",
                       _with(osb, ["digital_humans", 0, "phone_number"], 14155550100),
                       "digital_humans[0].phone_number", "nested"))
    out.append(Invalid("outbound_simulation_started-digital_humans0-not-object",
                       _with(osb, ["digital_humans", 0], "+14155550100"), "digital_humans[0]", "nested"))
    out.append(Invalid("observability_call_evaluated-participants0-missing-role",
                       _without(obs, ["participants", 0, "role"]), "participants[0].role", "nested"))
    # optional fields that the sidecar reads (stores, shows, counts): wrong types
    sre = full["built-simulation_result_evaluated"]
    out.append(Invalid("outbound_simulation_started-associated_ids-wrong-type",
                       _with(osb, ["digital_humans", 0, "associated_simulation_result_ids", 0], "901"),
                       "digital_humans[0].associated_simulation_result_ids[0]", "id_type"))
    out.append(Invalid("simulation_result_evaluated-evaluations-wrong-type",
                       _with(sre, ["evaluations"], "all good"), "evaluations", "read_field"))
    out.append(Invalid("simulation_result_evaluated-goal_success-wrong-type",
                       _with(sre, ["evaluations", 0, "goal_success"], "yes"), "evaluations[0].goal_success",
                       "read_field"))
    out.append(Invalid("simulation_result_evaluated-p50-wrong-type",
                       _with(sre, ["evaluations", 0, "latency", "p50_agent_latency"], "fast"),
                       "evaluations[0].latency.p50_agent_latency", "read_field"))
    out.append(Invalid("simulation_result_evaluated-tool_calls0-missing-name",
                       _without(sre, ["tool_calls", 0, "name"]), "tool_calls[0].name", "read_field"))
    # the discriminator itself
    out.append(Invalid("no-type", {"id": 5, "digital_human_id": 1, "simulation_run_id": 2}, "type", "wrong_type"))
    out.append(Invalid("type-not-string", {"type": 5, "id": 5}, "type", "wrong_type"))
    out.append(Invalid("not-an-object", [simulation_ended(5)], None, "wrong_type"))
    # not JSON at all
    out.append(Invalid("malformed-truncated", b'{"type":"simulation_ended","id":12', None, "malformed"))
    out.append(Invalid("malformed-garbage", b"this is not json", None, "malformed"))
    out.append(Invalid("malformed-empty", b"", None, "malformed"))
    out.append(Invalid("malformed-trailing-garbage", b'{"type":"simulation_ended","id":1,"digital_human_id":1,'
                       b'"simulation_run_id":1} x', None, "malformed"))
    return out


def expected_schema_field(err: jsonschema.ValidationError) -> str:
    """The field path a schema error points at: for ``required`` errors the
    missing property under the error's path, else the error's path."""
    path = format_path(err.absolute_path)
    if err.validator == "required":
        m = re.match(r"'([^']+)' is a required property", err.message)
        if m:
            return f"{path}.{m.group(1)}" if path else m.group(1)
    return path


def schema_fields(body: Any, validator: Optional[jsonschema.Draft202012Validator] = None) -> set[str]:
    """Every field path the schema complains about (descending into anyOf branches)."""
    v = validator or schema_validator()
    out: set[str] = set()
    stack = list(v.iter_errors(body))
    while stack:
        e = stack.pop()
        out.add(expected_schema_field(e))
        stack.extend(e.context or [])
    return out


def encode(body: Any) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()
