// Unit tests of the builder's pure logic: `node --test web/static/js/builder/` (tests/engine/forms/test_builder.py
// runs them inside pytest).
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { test } from "node:test";
import {
  History, addElement, addPage, createElement, deriveName, diff, duplicate, expressionToRows, get, load, moveBy,
  moveElement, names, pathOfProblem, remove, respell, retitle, rowsToExpression, save, update,
} from "./model.mjs";

const empty = () => load({ pages: [{ name: "page1", elements: [] }] });
const titles = (model, p = 0) => model.def.pages[p].elements.map((e) => e.name);

test("does a name come from a title, unique and usable in expressions?", () => {
  assert.equal(deriveName("Date of birth"), "date_of_birth");
  assert.equal(deriveName("Élan vital!"), "elan_vital");
  assert.equal(deriveName("2nd phone"), "q_2nd_phone");
  assert.equal(deriveName(""), "question");
  assert.equal(deriveName("Email", new Set(["email", "email_2"])), "email_3");
  assert.ok(deriveName("x".repeat(90)).length <= 40);
});

test("does every toolbox type make an element with a unique name?", () => {
  let model = empty();
  for (const type of ["text", "radiogroup", "radiogroup", "panel", "matrix", "html"]) model = addElement(model, type).model;
  assert.equal(new Set(titles(model)).size, 6);
  assert.deepEqual(createElement("radiogroup").choices, ["Option 1", "Option 2", "Option 3"]);
});

test("do add, move, duplicate and delete edit the right place and leave the old model intact?", () => {
  let model = empty();
  for (const type of ["text", "comment", "boolean"]) model = addElement(model, type).model;
  const before = model;
  const [a, b, c] = titles(model);
  model = moveElement(model, [0, 0], [0], 3).model;
  assert.deepEqual(titles(model), [b, c, a]);
  assert.deepEqual(titles(before), [a, b, c]);
  model = moveBy(model, [0, 2], -1).model;
  assert.deepEqual(titles(model), [b, a, c]);
  assert.equal(moveBy(model, [0, 0], -1), null);
  const dup = duplicate(model, [0, 1]);
  assert.deepEqual(dup.path, [0, 2]);
  assert.equal(titles(dup.model)[2], `${a}_copy`);
  model = remove(dup.model, [0, 0]).model;
  assert.deepEqual(titles(model), [a, `${a}_copy`, c]);
});

test("does moving down past a page's end go to the next page, and into and out of panels?", () => {
  let model = empty();
  model = addElement(model, "text").model;
  model = addElement(model, "panel").model;
  model = addPage(model).model;
  const moved = moveElement(model, [0, 0], [0, 1], 0);  // the text into the panel after it
  assert.deepEqual(moved.path, [0, 0, 0]);
  assert.equal(get(moved.model.def, [0, 0]).elements.length, 1);
  const down = moveBy(moved.model, [0, 0], 1);
  assert.deepEqual(down.path, [1, 0]);
  assert.throws(() => moveElement(model, [0, 1], [0, 1], 0));
});

test("does undo restore the model before the change, and redo the change?", () => {
  const first = empty();
  const history = new History(first);
  history.push(addElement(first, "text").model, "Added a question");
  assert.equal(history.current.def.pages[0].elements.length, 1);
  assert.equal(history.undo(), "Added a question");
  assert.equal(history.current, first);
  history.redo();
  assert.equal(history.current.def.pages[0].elements.length, 1);
});

test("does a title change carry the name only while the name was derived from it?", () => {
  let model = addElement(empty(), "text").model;
  model = retitle(model, [0, 0], "Pet name");
  assert.equal(get(model.def, [0, 0]).name, "pet_name");
  model = update(model, [0, 0], { title: "First name", name: "first_name" });
  model = retitle(model, [0, 0], "Given name");
  assert.equal(get(model.def, [0, 0]).name, "given_name");
  model = update(model, [0, 0], { name: "fname" });
  model = retitle(model, [0, 0], "Your given name");
  assert.equal(get(model.def, [0, 0]).name, "fname");
});

test("do condition rows and expressions convert both ways?", () => {
  const rows = [{ question: "age", operator: ">=", value: "18" }, { question: "who", operator: "=", value: "O'Neil" }];
  const text = rowsToExpression(rows);
  assert.equal(text, "{age} >= 18 and {who} = 'O\\'Neil'");
  assert.deepEqual(expressionToRows(text), { rows, join: "and" });
  assert.deepEqual(expressionToRows("{custody} anyof ['Sole legal custody', 'Guardianship']").rows,
    [{ question: "custody", operator: "anyof", value: "Sole legal custody, Guardianship" }]);
  assert.equal(rowsToExpression([{ question: "x", operator: "notempty" }], "or"), "{x} notempty");
  assert.deepEqual(expressionToRows("{a} = true or {b} empty").join, "or");
  assert.equal(expressionToRows("{a} = 1 and {b} = 2 or {c} = 3"), null);  // mixed joins: text only
  assert.equal(expressionToRows("sum({a}, {b}) > 3"), null);
  assert.equal(expressionToRows("{a} and or"), null);
  // what the property panel writes back: the same condition, in the rows' own spelling
  let model = load({ elements: [{ type: "text", name: "a" }, { type: "text", name: "b", visibleIf: '{a}  ==  "x"', enableIf: "age({a}) > 3" }] });
  model = respell(model, [0, 1]);
  assert.equal(get(model.def, [0, 1]).visibleIf, "{a} = 'x'");
  assert.equal(get(model.def, [0, 1]).enableIf, "age({a}) > 3");
});

test("does the diff list added, removed and changed questions by title?", () => {
  const before = { elements: [{ type: "text", name: "a", title: "A" }, { type: "text", name: "b", title: "B" }] };
  const after = { elements: [{ type: "text", name: "a", title: "A", isRequired: true }, { type: "text", name: "c", title: "C" }] };
  assert.deepEqual(diff(before, after), { added: ["C"], removed: ["B"], changed: [{ title: "A", props: ["isRequired"] }] });
  assert.deepEqual(diff(null, before).added, ["A", "B"]);
  // the server stores keys sorted: another key order is no change
  const sorted = { elements: [{ name: "a", title: "A", type: "text", validators: [{ maxLength: 3, type: "text" }] }] };
  const typed = { elements: [{ type: "text", name: "a", title: "A", validators: [{ type: "text", maxLength: 3 }] }] };
  assert.deepEqual(diff(sorted, typed), { added: [], removed: [], changed: [] });
});

test("does a server problem path point at its element, flat or paged?", () => {
  assert.deepEqual(pathOfProblem("$.pages[1].elements[2].choices[0]"), [1, 2]);
  assert.deepEqual(pathOfProblem("$.elements[3].elements[0].name"), [0, 3, 0]);
  assert.equal(pathOfProblem("$.title"), null);
});

test("does every template load and save back unchanged?", () => {
  const dir = new URL("../../../../form_defs/", import.meta.url);
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
    const json = JSON.parse(readFileSync(new URL(file, dir), "utf8"));
    assert.deepEqual(save(load(json)), json, file);
    assert.ok(names(load(json).def).size > 0, file);
  }
});
