#!/usr/bin/python3
"""Golden renderings of chat templates by Jinja2, as transformers' apply_chat_template does them.

    /usr/bin/python3 tests/reference/chat_templates.py --out-dir tests/golden/chat_templates

Needs Debian's python3-jinja2 (3.1). The environment is transformers' (chat_template_utils.py
_compile_jinja_template): ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
extensions=[loopcontrols]), its own tojson (json.dumps with ensure_ascii=False, no HTML escaping),
raise_exception (TemplateError with the message), and render(messages=, tools=, documents=None,
add_generation_prompt=, bos_token=, eos_token=, **chat_template_kwargs). A message whose content
is a list of text parts gets those texts joined with "\\n" first (vLLM's "string" content format,
which moe serve applies); that is the only thing done before Jinja.

Writes, for each model template <name>.jinja in the directory, <name>.json: {"template",
"bos_token", "eos_token", "cases": [{"name", "messages", "add_generation_prompt", "tools",
"kwargs", "expected" | "error"}]}; and features.json: small templates of single constructs
(whitespace control, filters, tests, slices, loop variables, scoping, namespaces, string
methods) with their variables and Jinja's output or error.
"""

import argparse
import json
import os

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment


def make_env():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env


def flatten(messages):
    out = []
    for m in messages:
        m = dict(m)
        c = m.get("content")
        if isinstance(c, list) and all(isinstance(p, dict) and p.get("type") == "text" for p in c):
            m["content"] = "\n".join(p["text"] for p in c)
        out.append(m)
    return out


def render(env, source, variables):
    try:
        return {"expected": env.from_string(source).render(**variables)}
    except Exception as e:  # the C++ renderer must fail too, with this message inside its own
        return {"error": str(e)}


SYSTEM = {"role": "system", "content": "You are a terse assistant.\nAnswer in one line."}
USER1 = {"role": "user", "content": "What is 2+2?"}
ASSISTANT1 = {"role": "assistant", "content": "4"}
USER2 = {"role": "user", "content": "  And \"3\" + 'x' in UTF-8: naïve café, 日本語, 🙂?\n"}

COMMON = [
    ("one_user", [USER1], True),
    ("one_user_no_prompt", [USER1], False),
    ("system_user", [SYSTEM, USER1], True),
    ("multi_turn", [SYSTEM, USER1, ASSISTANT1, USER2], True),
    ("multi_turn_no_system", [USER1, ASSISTANT1, USER2], True),
    ("ends_with_assistant", [USER1, ASSISTANT1], False),
    ("text_parts", [{"role": "user", "content": [{"type": "text", "text": "Part one."},
                                                 {"type": "text", "text": "Part two."}]}], True),
    ("empty_content", [{"role": "user", "content": ""}], True),
    ("two_users", [USER1, USER2], True),  # Mixtral refuses it
    ("tool_role", [USER1, {"role": "tool", "content": "42"}], True),  # Mixtral refuses it
]

TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer",
          "minimum": 1, "maximum": 7.5}}, "required": ["city"]}}}]
TOOL_CALL = {"role": "assistant", "content": "", "tool_calls": [
    {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}}]}
TOOL_RESULT = {"role": "tool", "content": "{\"temp\": 21.5}"}

EXTRA = {
    "qwen3": [
        ("thinking_history", [USER1, {"role": "assistant", "content": "<think>\nadd them\n</think>\n\n4"}, USER2],
         True, None, {}),
        ("reasoning_last", [USER1, {"role": "assistant", "content": "<think>\nadd\n</think>\n\n4"}], False, None, {}),
        ("reasoning_content_field", [USER1, {"role": "assistant", "content": "4", "reasoning_content": "easy"}, USER2],
         True, None, {}),
        ("enable_thinking_false", [USER1], True, None, {"enable_thinking": False}),
        ("enable_thinking_true", [USER1], True, None, {"enable_thinking": True}),
        ("tools", [SYSTEM, USER1], True, TOOLS, {}),
        ("tool_calls", [USER1, TOOL_CALL, TOOL_RESULT, TOOL_RESULT], True, TOOLS, {}),
        ("tool_calls_string_args", [USER1, {"role": "assistant", "content": "Let me check.", "tool_calls": [
            {"type": "function", "function": {"name": "f", "arguments": "{\"a\": 1}"}},
            {"type": "function", "function": {"name": "g", "arguments": {}}}]}, TOOL_RESULT], True, None, {}),
        ("tool_response_user", [USER1, {"role": "user", "content": "<tool_response>x</tool_response>"}], True, None, {}),
    ],
    "deepseek_v3": [
        ("tool_calls", [SYSTEM, USER1, {"role": "assistant", "content": None, "tool_calls": [
            {"type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
            {"type": "function", "function": {"name": "get_time", "arguments": "{}"}}]},
            TOOL_RESULT, {"role": "tool", "content": "noon"}, {"role": "assistant", "content": "Sunny at noon."}],
         True, None, {}),
        ("ends_with_tool", [USER1, {"role": "assistant", "content": None, "tool_calls": [
            {"type": "function", "function": {"name": "f", "arguments": "{}"}}]}, TOOL_RESULT], True, None, {}),
        ("two_systems", [SYSTEM, {"role": "system", "content": "Be kind."}, USER1], True, None, {}),
    ],
}

TOKENS = {
    "mixtral": ("<s>", "</s>"),
    "qwen2": ("<|endoftext|>", "<|im_end|>"),
    "qwen3": ("<|endoftext|>", "<|im_end|>"),
    "olmoe": ("<|endoftext|>", "<|endoftext|>"),
    "deepseek_v3": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
}

# Single constructs: (name, template, variables).
FEATURES = [
    ("trim_blocks", "{% if true %}\nA\n{% endif %}\nB", {}),
    ("lstrip_blocks", "x\n    {% if true %}\n  y\n    {% endif %}\nz", {}),
    ("lstrip_not_after_text", "x  {% if true %}y{% endif %}", {}),
    ("lstrip_after_output", "{{ 'a' }}  {% if true %}b{% endif %}", {}),
    ("plus_disables_lstrip", "x\n  {%+ if true %}y{% endif %}", {}),
    ("minus_both_sides", "a  \n  {%- if true -%}  \n b \n {%- endif -%}\n\n c", {}),
    ("output_minus", "a \n {{- 'b' -}} \n c", {}),
    ("comment", "a\n  {# note #}\nb {#- x -#} c", {}),
    ("trailing_newline_dropped", "a\n", {}),
    ("two_trailing_newlines", "a\n\n", {}),
    ("crlf", "a\r\nb{% if true %}\r\nc{% endif %}", {}),
    ("string_escapes", "{{ 'a\\tb\\n\\'q\\' \\\"d\\\" \\\\ \\x41\\u00e9\\U0001F642 \\d' }}", {}),
    ("adjacent_strings", "{{ 'a' \"b\" 'c' }}", {}),
    ("arithmetic", "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 4 / 2 }} {{ 2 ** 10 }} "
                   "{{ 1 + 2 * 3 - 4 }} {{ 1.5 + 1 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1e-5 }} {{ 123456789.0 * 10 }}", {}),
    ("concat", "{{ 'a' ~ 1 ~ none ~ true ~ x }}|{{ 'a' + 'b' ~ 'c' }}", {"x": [1, "b"]}),
    ("compare", "{{ 1 < 2 < 3 }} {{ 1 == 1.0 }} {{ 'a' < 'b' }} {{ 2 >= 3 }} {{ true == 1 }} {{ [1, 2] == [1, 2] }} "
                "{{ 'x' != 'y' }}", {}),
    ("logic", "{{ none or 'd' }} {{ 'a' and 'b' }} {{ 0 and 1 }} {{ not [] }} {{ not 'x' is string }}", {}),
    ("in", "{{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in d }} {{ 'z' not in d }} {{ 3 not in [1] }}",
     {"d": {"k": 1}}),
    ("print_values", "{{ none }} {{ true }} {{ [1, 'a', none, true, 2.5, {'k': 'v'}] }} {{ d }} {{ undefined_var }}|",
     {"d": {"a": [1], "b": "it's"}}),
    ("subscripts", "{{ s[0] }}{{ s[-1] }}{{ s[1:] }}{{ s[:-1] }}{{ s[::-1] }}{{ s[1:3] }}{{ s[::2] }}{{ l[-2:] }}"
                   "{{ l[5] is defined }}{{ s[10:] }}{{ l[::-2] }}{{ l.0 }}", {"s": "héllo", "l": [1, 2, 3, 4]}),
    ("attributes", "{{ m.role }} {{ m['content'] }} {{ m.missing is defined }} {{ m.none_field is none }} "
                   "{{ m.nested.x }}", {"m": {"role": "user", "content": "hi", "none_field": None, "nested": {"x": 1}}}),
    ("conditional_expression", "{{ 'y' if x else 'n' }} {{ 'y' if not x else 'n' }} {{ 'z' if false }}|", {"x": 1}),
    ("for_loop_vars", "{% for x in l %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}"
                      "{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.previtem }}{{ loop.nextitem }};"
                      "{% endfor %}", {"l": ["a", "b", "c"]}),
    ("for_filter_else", "{% for x in l if x > 1 %}{{ x }}{{ loop.last }}{% else %}none{% endfor %}"
                        "{% for x in [] %}{{ x }}{% else %}empty{% endfor %}", {"l": [1, 2, 3]}),
    ("for_unpack", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k, v in d|items %}{{ k }}{% endfor %}"
                   "{% for k in d %}{{ k }}{% endfor %}", {"d": {"b": 1, "a": 2}}),
    ("for_break_continue", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}"
                           "{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %}", {}),
    ("scoping", "{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}"
                "{% if true %}{% set y = 3 %}{% endif %}{{ y }}", {}),
    ("namespace", "{% set ns = namespace(n=0, s='') %}{% for i in [1, 2, 3] %}{% set ns.n = ns.n + i %}"
                  "{% set ns.s = ns.s ~ i %}{% endfor %}{{ ns.n }} {{ ns.s }}", {}),
    ("set_block", "{% set x %}a{{ 1 + 1 }}b{% endset %}[{{ x }}]", {}),
    ("set_tuple", "{% set t = 1, 2 %}{{ t }}", {}),
    ("nested_loops", "{% for a in [1, 2] %}{% for b in 'xy' %}{{ loop.index }}{{ a }}{{ b }} {% endfor %}"
                     "{{ loop.index }}|{% endfor %}", {}),
    ("filters_text", "{{ '  a b  '|trim }}|{{ 'xxaxx'|trim('x') }}|{{ 'Hello'|upper }}{{ 'Hello'|lower }}"
                     "|{{ 'hello world'|capitalize }}|{{ 'a-b-a'|replace('a', 'c') }}|{{ 'aaa'|replace('a', 'b', 2) }}"
                     "|{{ 5|string ~ 'x' }}|{{ '12'|int + 1 }}|{{ 'x'|int }}|{{ '2.5'|float }}|{{ -3|abs }}", {}),
    ("filters_lists", "{{ l|length }} {{ 'héllo'|length }} {{ d|length }} {{ l|first }} {{ l|last }} {{ l|join(', ') }} "
                      "{{ l|reverse|list }} {{ 'abc'|list }} {{ l|sort }} {{ l|sort(reverse=true) }} {{ d|list }}",
     {"l": [3, 1, 2], "d": {"a": 1, "b": 2}}),
    ("filters_default", "{{ x|default('dx') }} {{ none|default('dn') }} {{ ''|default('de', true) }} {{ 0|d(5) }}", {}),
    ("filters_select", "{{ ms|selectattr('role', 'equalto', 'user')|map(attribute='content')|join('+') }} "
                       "{{ ms|rejectattr('role', 'equalto', 'user')|list|length }} {{ ms|selectattr('x')|list }} "
                       "{{ [1, 2, 3, 4]|select('odd')|list }} {{ [1, 2, 3]|reject('even')|list }} "
                       "{{ ms|map(attribute='role')|list }} {{ ['a', 'b']|map('upper')|list }} "
                       "{{ ms|selectattr('role', 'in', ['system', 'user'])|list|length }}",
     {"ms": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "x": True},
             {"role": "user", "content": "c"}]}),
    ("tojson", "{{ v|tojson }}|{{ v|tojson(indent=2) }}|{{ 'é\"\\n'|tojson }}|{{ {}|tojson }}|{{ []|tojson(indent=2) }}"
               "|{{ v|tojson(sort_keys=true) }}|{{ v|tojson(indent=0) }}",
     {"v": {"b": [1, 2.5, None, True, "x"], "a": {"n": -3, "f": 1e-7, "big": 1e21, "z": 0.0}}}),
    ("tests", "{{ x is defined }}{{ y is defined }}{{ y is undefined }}{{ none is none }}{{ 'a' is string }}"
              "{{ 1 is number }}{{ 1.5 is float }}{{ 1 is integer }}{{ true is boolean }}{{ d is mapping }}"
              "{{ l is iterable }}{{ l is sequence }}{{ 3 is odd }}{{ 4 is even }}{{ 9 is divisibleby 3 }}"
              "{{ 'a' is equalto 'a' }}{{ x is not none }}{{ false is false }}{{ 1 is true }}{{ 'ab' is lower }}",
     {"x": 1, "d": {}, "l": []}),
    ("string_methods", "{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ s.strip(' \\n') }}|{{ 'xay'.strip('xy') }}"
                       "|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a,b,c'.split(',', 1) }}"
                       "|{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith('bc') }}{{ 'abc'.startswith(('x', 'a')) }}"
                       "|{{ 'aXa'.replace('a', 'b') }}|{{ 'Ab'.upper() }}{{ 'Ab'.lower() }}|{{ 'hello world'.title() }}"
                       "|{{ 'abcb'.find('b') }}{{ 'abc'.find('z') }}|{{ 'abab'.count('ab') }}|{{ '-'.join(['a', 'b']) }}",
     {"s": "  \n hi there \n "}),
    ("dict_methods", "{{ d.keys()|list }} {{ d.values()|list }} {{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 7) }} "
                     "{{ d.items()|list }}", {"d": {"a": 1, "b": "two"}}),
    ("lists_and_dicts", "{{ [1, 2] + [3] }} {{ 'ab' * 2 }} {{ [0] * 3 }} {{ {'a': 1, 'b': [2]}['b'][0] }} {{ (1, 2)[1] }}",
     {}),
    ("macro", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('a') }} "
              "{{ greet('b', '?') }} {{ greet(name='c', punct='.') }} {{ greet() }} {{ greet('d', punct=1) }}|", {}),
    ("macro_scope", "{% set top = 'T' %}{% macro show(x) %}{{ top }}{{ x }}{{ item is defined }}{% set top = 'in' %}"
                    "{% endmacro %}{% for item in [1, 2] %}{{ show(item) }}{% endfor %}{{ top }}", {}),
    ("macro_calls_macro", "{% macro a(x) %}[{{ x }}]{% endmacro %}{% macro b(x) %}{{ a(x) ~ a(x * 2) }}{% endmacro %}"
                          "{{ b(3) }}{% set r = b(1) %}{{ r|length }}", {}),
    ("macro_whitespace", "{%- macro m(x) -%}\n  {{ x }}\n{%- endmacro -%}\n{{ m(1) }}\n{{ m(2) }}", {}),
    ("macro_in_loop_namespace", "{% set ns = namespace(n=0) %}{% macro bump() %}{% set ns.n = ns.n + 1 %}{% endmacro %}"
                                "{% for i in range(3) %}{{ bump() }}{% endfor %}{{ ns.n }}", {}),
    ("macro_too_many_args_error", "{% macro m(x) %}{% endmacro %}{{ m(1, 2) }}", {}),
    ("raise_exception", "a{{ raise_exception('Roles must alternate: ' ~ n) }}", {"n": 3}),
    ("undefined_attribute_error", "{{ m.a.b }}", {"m": {}}),
    ("type_error", "{{ 'a' + 1 }}", {}),
    ("none_iteration_error", "{% for x in n %}{% endfor %}", {"n": None}),
    ("namespace_assign_error", "{% set d = {} %}{% set d.x = 1 %}", {}),
    ("unknown_filter_error", "{{ 'a'|no_such_filter }}", {}),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out-dir", required=True)
    args = parser.parse_args()
    env = make_env()
    for name, (bos, eos) in TOKENS.items():
        with open(os.path.join(args.out_dir, name + ".jinja"), encoding="utf-8") as f:
            source = f.read()
        cases = [(n, m, g, None, {}) for n, m, g in COMMON] + EXTRA.get(name, [])
        out = []
        for case_name, messages, agp, tools, kwargs in cases:
            variables = dict(kwargs)
            variables.update(messages=flatten(messages), tools=tools, documents=None, add_generation_prompt=agp,
                             bos_token=bos, eos_token=eos)
            case = {"name": case_name, "messages": messages, "add_generation_prompt": agp, "tools": tools,
                    "kwargs": kwargs}
            case.update(render(env, source, variables))
            out.append(case)
        with open(os.path.join(args.out_dir, name + ".json"), "w", encoding="utf-8") as f:
            json.dump({"template": name + ".jinja", "bos_token": bos, "eos_token": eos, "cases": out}, f,
                      ensure_ascii=False, indent=1)
            f.write("\n")
    features = []
    for case_name, source, variables in FEATURES:
        case = {"name": case_name, "template": source, "variables": variables}
        case.update(render(env, source, variables))
        features.append(case)
    with open(os.path.join(args.out_dir, "features.json"), "w", encoding="utf-8") as f:
        json.dump({"cases": features}, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
