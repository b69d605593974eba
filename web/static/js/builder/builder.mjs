// The form builder page: toolbox, canvas, property panel, live preview, JSON view, server checks and the
// changes since the last published version. The editing itself is model.mjs; this module draws the model,
// turns clicks, drags and keys into its operations, and keeps the undo history.
import {
  CHOICE_TYPES, CONDITIONS, History, INPUT_TYPES, OPERATORS, TOOLBOX, addElement, addPage, diff, duplicate,
  expressionToRows, get, load, moveBy, moveElement, pathOfProblem, remove, removePage, retitle, rowsToExpression,
  save, update, walk,
} from "./model.mjs";

const root = document.getElementById("form-editor");
const { api, el, say } = window.Studio;
let key = root.dataset.key;
const PREFILL = JSON.parse(root.dataset.prefill || "[]");
const TYPE_LABEL = Object.fromEntries(TOOLBOX.map((t) => [t.type, t.label]));
const PROP_LABEL = { title: "title", name: "name", isRequired: "required", choices: "choices", validators: "checks",
  visibleIf: "when shown", enableIf: "when editable", requiredIf: "when required", defaultValue: "default answer",
  prefill: "prefill", inputType: "kind of answer", description: "description" };

let history = new History(load({ pages: [{ name: "page1", elements: [] }] }));
let selected = null; // path of the selected element, or null
let problems = []; // the server's last checks: [{path, name, title, messages}]
let published = null; // the last published definition, for the diff
let coalesce = { key: "", at: 0 };

const $ = (id) => document.getElementById(id);
const model = () => history.current;
const label = (e) => e.title || e.name || TYPE_LABEL[e.type] || e.type;
const samePath = (a, b) => a && b && a.length === b.length && a.every((v, i) => v === b[i]);

function announce(text) { $("fe-announce").textContent = text; }

/** Record a change. Typing into one field keeps one undo step (same `group` within two seconds). */
function commit(next, text, group = "") {
  const now = Date.now();
  if (group && coalesce.key === group && now - coalesce.at < 2000 && history.canUndo) history.current = next;
  else history.push(next, text);
  coalesce = { key: group, at: now };
  refresh({ keepProps: Boolean(group) });
}

// ---- canvas ---------------------------------------------------------------------------------------

function problemsAt(path) {
  return problems.filter((p) => samePath(pathOfProblem(p.path), path));
}

function dropTarget(node, container, index) {
  node.addEventListener("dragover", (event) => { event.preventDefault(); node.classList.add("drop-here"); });
  node.addEventListener("dragleave", () => node.classList.remove("drop-here"));
  node.addEventListener("drop", (event) => {
    event.preventDefault();
    event.stopPropagation();
    node.classList.remove("drop-here");
    const type = event.dataTransfer.getData("text/x-portico-type");
    const from = event.dataTransfer.getData("text/x-portico-path");
    const at = typeof index === "function" ? index(event) : index;
    if (type) addType(type, container, at);
    else if (from) {
      try {
        const moved = moveElement(model(), JSON.parse(from), container, at);
        selected = moved.path;
        commit(moved.model, `Moved ${label(get(moved.model.def, moved.path))}`);
        announce(`${label(get(model().def, selected))} moved.`);
      } catch (err) { announce(err.message); }
    }
  });
}

function itemNode(e, path) {
  const title = label(e);
  const issues = problemsAt(path);
  const li = el("li", { class: "builder-item", "data-path": JSON.stringify(path), "data-name": e.name || "", draggable: "true" });
  if (samePath(path, selected)) li.classList.add("selected");
  if (issues.length) li.classList.add("has-problem");
  li.addEventListener("dragstart", (event) => {
    event.stopPropagation();
    event.dataTransfer.setData("text/x-portico-path", JSON.stringify(path));
    event.dataTransfer.effectAllowed = "move";
  });
  dropTarget(li, path.slice(0, -1), (event) => {
    const box = li.getBoundingClientRect();
    const index = path[path.length - 1];
    return event.clientY > box.top + box.height / 2 ? index + 1 : index;
  });
  const pick = el("button", { type: "button", class: "builder-pick", "aria-pressed": String(Boolean(samePath(path, selected))),  // never "null" (axe)
    onclick: () => { selected = path; refresh(); $("bp-title")?.focus(); } },
  el("span", { class: "builder-title", text: title }),
  el("span", { class: "muted builder-type", text: `${TYPE_LABEL[e.type] || e.type}${e.isRequired ? " · required" : ""}${e.visibleIf ? " · conditional" : ""}` }));
  const tools = el("span", { class: "builder-tools" },
    el("button", { type: "button", class: "secondary", "aria-label": `Move ${title} up`, text: "↑", onclick: () => move(path, -1) }),
    el("button", { type: "button", class: "secondary", "aria-label": `Move ${title} down`, text: "↓", onclick: () => move(path, 1) }),
    el("button", { type: "button", class: "secondary", "aria-label": `Duplicate ${title}`, text: "Duplicate", onclick: () => copy(path) }),
    el("button", { type: "button", class: "secondary", "aria-label": `Delete ${title}`, text: "Delete", onclick: () => drop(path) }));
  li.append(el("div", { class: "builder-row" }, pick, tools));
  for (const issue of issues) li.append(el("p", { class: "error builder-problem", text: issue.messages.join("; ") }));
  if (e.type === "panel") li.append(listNode(e.elements || [], path, `Inside ${title}`));
  return li;
}

function listNode(elements, container, name) {
  const ol = el("ol", { class: "builder-list", "aria-label": name });
  elements.forEach((e, i) => ol.append(itemNode(e, [...container, i])));
  const end = el("li", { class: "builder-drop", "aria-hidden": "true", text: elements.length ? "Drop here to add at the end" : "Drop questions here" });
  dropTarget(end, container, elements.length);
  ol.append(end);
  return ol;
}

function renderCanvas() {
  const canvas = $("builder-pages");
  canvas.replaceChildren(...model().def.pages.map((page, p) => {
    const title = page.title || `Page ${p + 1}`;
    const section = el("section", { class: "builder-page", "aria-label": title, "data-page": String(p) });
    const head = el("div", { class: "builder-row" }, el("h3", { text: title }));
    if (model().def.pages.length > 1) {
      head.append(el("button", { type: "button", class: "secondary", "aria-label": `Delete ${title}`, text: "Delete page",
        onclick: () => { commit(removePage(model(), p).model, `Deleted ${title}`); selected = null; offerUndo(`${title} deleted.`); } }));
    }
    section.append(head, listNode(page.elements, [p], `Questions on ${title}`));
    return section;
  }));
}

// ---- operations from the canvas and toolbox --------------------------------------------------------

function targetContainer() {
  // add next to the selection: inside it when it is a panel, else on its page or panel
  if (!selected) return { container: [model().def.pages.length - 1], index: undefined };
  const e = get(model().def, selected);
  if (e.type === "panel") return { container: selected, index: undefined };
  return { container: selected.slice(0, -1), index: selected[selected.length - 1] + 1 };
}

function addType(type, container, index) {
  if (!container) ({ container, index } = targetContainer());
  const added = addElement(model(), type, container, index);
  selected = added.path;
  commit(added.model, `Added ${TYPE_LABEL[type]}`);
  announce(`${TYPE_LABEL[type]} added: ${label(get(model().def, selected))}.`);
}

function move(path, delta) {
  const moved = moveBy(model(), path, delta);
  const title = label(get(model().def, path));
  if (!moved) { announce(`${title} is already ${delta < 0 ? "first" : "last"}.`); return; }
  selected = moved.path;
  commit(moved.model, `Moved ${title}`);
  const [p] = moved.path;
  announce(`${title} moved ${delta < 0 ? "up" : "down"}: position ${moved.path[moved.path.length - 1] + 1} on page ${p + 1}.`);
  document.querySelector(`[data-path='${JSON.stringify(moved.path)}'] [aria-label^='Move'][aria-label$='${delta < 0 ? "up" : "down"}']`)?.focus();
}

function copy(path) {
  const copied = duplicate(model(), path);
  selected = copied.path;
  commit(copied.model, `Duplicated ${label(get(model().def, path))}`);
  announce(`Copy added: ${label(get(model().def, selected))}.`);
}

function drop(path) {
  const title = label(get(model().def, path));
  commit(remove(model(), path).model, `Deleted ${title}`);
  selected = null;
  offerUndo(`${title} deleted.`);
}

function offerUndo(text) {
  announce(`${text} Undo brings it back.`);
  say("fe-status", `${text} Use Undo to bring it back.`);
}

function undo() {
  const what = history.undo();
  if (what === null) { announce("Nothing to undo."); return; }
  selected = null;
  refresh();
  announce(`Undone: ${what}.`);
  say("fe-status", `Undone: ${what}.`);
}

function redo() {
  const what = history.redo();
  if (what === null) { announce("Nothing to redo."); return; }
  selected = null;
  refresh();
  announce(`Redone: ${what}.`);
  say("fe-status", `Redone: ${what}.`);
}

// ---- property panel -------------------------------------------------------------------------------

function field(id, text, input, hint) {
  input.id = id;
  const box = el("div", { class: "builder-field" }, el("label", { for: id, text }), input);
  if (hint) { input.setAttribute("aria-describedby", `${id}-hint`); box.append(el("p", { class: "muted", id: `${id}-hint`, text: hint })); }
  return box;
}

function choicesText(choices) {
  return (choices || []).map((c) => (typeof c === "object" && c !== null
    ? (c.text !== undefined && c.text !== c.value ? `${c.value} | ${c.text}` : String(c.value)) : String(c))).join("\n");
}

function parseChoices(text) {
  return text.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
    const bar = line.indexOf("|");
    if (bar < 0) return line;
    return { value: line.slice(0, bar).trim(), text: line.slice(bar + 1).trim() };
  });
}

function defaultText(e) {
  const v = e.defaultValue;
  if (v === undefined) return "";
  return Array.isArray(v) ? v.join(", ") : String(v);
}

function parseDefault(e, text) {
  const t = text.trim();
  if (!t) return undefined;
  if (e.type === "checkbox" || e.type === "tagbox") return t.split(",").map((s) => s.trim()).filter(Boolean);
  if (e.type === "boolean") return t === "true" ? true : t === "false" ? false : undefined;
  if ((e.type === "rating" || e.inputType === "number") && /^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  return t;
}

function input(attrs, value, onInput, event = "input") {
  const node = el("input", { autocomplete: "off", ...attrs });
  node.value = value ?? "";
  node.addEventListener(event, () => onInput(node.value));
  return node;
}

function select(options, value, onChange) {
  const node = el("select", {});
  for (const [v, text] of options) node.append(el("option", { value: v, text }));
  node.value = value ?? "";
  node.addEventListener("change", () => onChange(node.value));
  return node;
}

function set(props, text, group) { commit(update(model(), selected, props), text, group); }

function validatorNode(e, v, j) {
  const validators = () => (get(model().def, selected).validators || []).slice();
  const setValidator = (patch, group) => {
    const all = validators();
    all[j] = { ...all[j], ...patch };
    for (const k of Object.keys(all[j])) if (all[j][k] === "" || all[j][k] === undefined) delete all[j][k];
    set({ validators: all }, "Changed a check", group);
  };
  const num = (s) => (s.trim() === "" ? undefined : Number(s));
  const box = el("fieldset", { class: "builder-validator" });
  const kinds = { numeric: "Number range", text: "Text length", email: "Email address", regex: "Pattern (regular expression)", expression: "Expression" };
  box.append(el("legend", { text: kinds[v.type] || v.type }));
  const id = `bp-v${j}`;
  if (v.type === "numeric") {
    box.append(field(`${id}-min`, "Smallest", input({ type: "number" }, v.minValue, (s) => setValidator({ minValue: num(s) }, `${id}-min`))),
      field(`${id}-max`, "Largest", input({ type: "number" }, v.maxValue, (s) => setValidator({ maxValue: num(s) }, `${id}-max`))));
  } else if (v.type === "text") {
    box.append(field(`${id}-min`, "Fewest characters", input({ type: "number", min: "0" }, v.minLength, (s) => setValidator({ minLength: num(s) }, `${id}-min`))),
      field(`${id}-max`, "Most characters", input({ type: "number", min: "0" }, v.maxLength, (s) => setValidator({ maxLength: num(s) }, `${id}-max`))));
  } else if (v.type === "regex") {
    const result = el("p", { class: "muted", id: `${id}-result`, role: "status" });
    const sample = input({ placeholder: "Type an answer to try the pattern" }, "", () => tryPattern());
    const tryPattern = () => {
      const pattern = get(model().def, selected).validators?.[j]?.regex || "";
      if (!sample.value) { result.textContent = ""; return; }
      try {
        const ok = new RegExp(pattern).test(sample.value);
        result.textContent = ok ? "This answer is accepted." : "This answer is refused.";
      } catch (err) { result.textContent = `The pattern does not work: ${err.message}`; }
    };
    box.append(field(`${id}-regex`, "Pattern", input({ spellcheck: "false" }, v.regex, (s) => { setValidator({ regex: s }, `${id}-regex`); tryPattern(); })),
      field(`${id}-try`, "Try an answer", sample), result);
  }
  box.append(field(`${id}-text`, "Message when refused", input({}, v.text, (s) => setValidator({ text: s }, `${id}-text`))),
    el("button", { type: "button", class: "secondary", text: "Remove this check",
      onclick: () => { const all = validators(); all.splice(j, 1); set({ validators: all }, "Removed a check"); } }));
  return box;
}

function conditionNode(e, prop, legend) {
  const id = `bp-${prop}`;
  const text = e[prop] || "";
  const parsed = typeof text === "string" ? expressionToRows(text) : null;
  const box = el("fieldset", { class: "builder-condition", id });
  box.append(el("legend", { text: legend }));
  const others = walk(model().def).map((w) => w.el).filter((q) => q.name && q.type !== "panel" && q.type !== "html" && q.name !== e.name);
  const options = [["", "Choose a question…"], ...others.map((q) => [q.name, label(q)])];
  const write = (rows, join) => set({ [prop]: rowsToExpression(rows, join) || undefined }, `Changed ${legend.toLowerCase()}`);
  if (parsed) {
    const { rows, join } = parsed;
    rows.forEach((row, i) => {
      const rowBox = el("div", { class: "builder-condition-row", role: "group", "aria-label": `${legend}: condition ${i + 1}` });
      const change = (patch) => { const next = rows.map((r, k) => (k === i ? { ...r, ...patch } : r)); write(next, join); };
      const unary = OPERATORS.find((o) => o.op === row.operator)?.unary;
      rowBox.append(
        field(`${id}-q${i}`, "Question", select(options, row.question, (v) => change({ question: v }))),
        field(`${id}-op${i}`, "Operator", select(OPERATORS.map((o) => [o.op, o.label]), row.operator, (v) => change({ operator: v }))));
      if (!unary) rowBox.append(field(`${id}-v${i}`, "Value", valueInput(others.find((q) => q.name === row.question), row.value, (v) => change({ value: v }), `${id}-v${i}`)));
      rowBox.append(el("button", { type: "button", class: "secondary", "aria-label": `Remove condition ${i + 1}`, text: "Remove",
        onclick: () => write(rows.filter((_, k) => k !== i), join) }));
      box.append(rowBox);
    });
    if (rows.length > 1) {
      box.append(field(`${id}-join`, "Combine", select([["and", "all of these hold"], ["or", "any of these holds"]], join, (v) => write(rows, v))));
    }
    box.append(el("button", { type: "button", class: "secondary", id: `${id}-add`, text: "Add a condition",
      onclick: () => {
        const first = others[0];
        if (!first) { announce("Add another question first: a condition compares another question's answer."); return; }
        // a new row starts on the first other question with one of its answers, so it is a valid condition
        const row = { question: first.name, operator: "=", value: sampleValue(first) };
        set({ [prop]: rowsToExpression([...rows, row], join) }, `Added a condition to ${legend.toLowerCase()}`);
      } }));
  } else {
    box.append(el("p", { class: "muted", text: "This expression says more than rows can show: edit it as text." }));
  }
  const expr = el("textarea", { rows: "2", spellcheck: "false" });
  expr.value = text;
  expr.addEventListener("change", () => set({ [prop]: expr.value.trim() || undefined }, `Edited ${legend.toLowerCase()}`));
  box.append(field(`${id}-expr`, "SurveyJS expression", expr, "Edit it directly if you know SurveyJS expressions; the rows follow."));
  return box;
}

function sampleValue(q) {
  if (q.type === "boolean") return "true";
  const c = (q.choices || [])[0];
  if (c !== undefined) return String(typeof c === "object" ? c.value : c);
  return "";
}

function valueInput(q, value, onChange, id) {
  if (q && q.type === "boolean") return select([["true", "Yes"], ["false", "No"]], String(value), onChange);
  if (q && q.choices && q.choices.length) {
    const opts = q.choices.map((c) => (typeof c === "object" ? [String(c.value), String(c.text ?? c.value)] : [String(c), String(c)]));
    if (!opts.some(([v]) => v === String(value))) opts.unshift([String(value), String(value) || "Choose…"]);
    return select(opts, String(value), onChange);
  }
  return input({ "data-group": id }, value, onChange, "change");
}

function renderProps() {
  const box = $("builder-props-body");
  if (!selected || !walk(model().def).some((w) => samePath(w.path, selected))) {
    selected = null;
    box.replaceChildren(el("p", { class: "muted", text: "Choose a question on the form to edit it, or add one from the toolbox." }));
    return;
  }
  const e = get(model().def, selected);
  const nodes = [el("p", { class: "muted", text: `${TYPE_LABEL[e.type] || e.type}` })];
  nodes.push(el("div", { id: "bp-problems", role: "status" }, ...problemsAt(selected).map((issue) => el("p", { class: "error", text: issue.messages.join("; ") }))));
  if (e.type !== "html") {
    nodes.push(field("bp-title", "Title", input({}, e.title, (v) => { commit(retitle(model(), selected, v), "Changed a title", "title"); syncName(); })));
  }
  nodes.push(field("bp-name", "Name (used in conditions and answers)", input({ spellcheck: "false" }, e.name, (v) => set({ name: v.trim() }, "Changed a name", "name")),
    "Made from the title until you change it."));
  if (e.type === "html") {
    const html = el("textarea", { rows: "4" });
    html.value = e.html || "";
    html.addEventListener("input", () => set({ html: html.value }, "Changed the text", "html"));
    nodes.push(field("bp-html", "Text (HTML)", html));
  } else {
    const description = el("textarea", { rows: "2" });
    description.value = e.description || "";
    description.addEventListener("input", () => set({ description: description.value }, "Changed a description", "description"));
    nodes.push(field("bp-description", "Description", description));
  }
  if (!["html", "panel", "expression"].includes(e.type)) {
    const required = el("input", { type: "checkbox", id: "bp-required" });
    required.checked = Boolean(e.isRequired);
    required.addEventListener("change", () => set({ isRequired: required.checked }, required.checked ? "Made required" : "Made optional"));
    nodes.push(el("div", { class: "builder-field builder-check" }, required, el("label", { for: "bp-required", text: "An answer is required" })));
  }
  if (e.type === "text") {
    nodes.push(field("bp-inputtype", "Kind of answer", select(INPUT_TYPES.map((t) => [t, t === "text" ? "text" : t]), e.inputType || "text",
      (v) => set({ inputType: v === "text" ? undefined : v }, "Changed the kind of answer"))));
  }
  if (CHOICE_TYPES.has(e.type) || e.type === "matrix") {
    const choices = el("textarea", { rows: "5" });
    choices.value = choicesText(e.type === "matrix" ? e.columns : e.choices);
    choices.addEventListener("input", () => set({ [e.type === "matrix" ? "columns" : "choices"]: parseChoices(choices.value) }, "Changed the choices", "choices"));
    nodes.push(field("bp-choices", e.type === "matrix" ? "Columns" : "Choices", choices, "One per line; write value | label to store a value other than the label."));
    if (e.type === "matrix") {
      const rows = el("textarea", { rows: "4" });
      rows.value = choicesText(e.rows);
      rows.addEventListener("input", () => set({ rows: parseChoices(rows.value) }, "Changed the rows", "rows"));
      nodes.push(field("bp-rows", "Rows", rows, "One per line."));
    }
  }
  if (!["html", "panel", "expression", "signaturepad", "file", "paneldynamic", "matrixdynamic", "matrix", "multipletext"].includes(e.type)) {
    nodes.push(field("bp-default", "Default answer", input({}, defaultText(e), (v) => set({ defaultValue: parseDefault(e, v) }, "Changed the default answer", "default")),
      e.type === "checkbox" || e.type === "tagbox" ? "Values separated by commas." : e.type === "boolean" ? "true or false." : ""));
    const prefills = [["", "No prefill"], ...PREFILL.map((p) => [p.path, p.label])];
    if (e.prefill && !PREFILL.some((p) => p.path === e.prefill)) prefills.push([e.prefill, `${e.prefill} (not allowed)`]);
    nodes.push(field("bp-prefill", "Prefill from the client's record", select(prefills, e.prefill || "", (v) => set({ prefill: v || undefined }, "Changed the prefill"))));
  }
  if (["text", "comment", "multipletext", "dropdown", "tagbox", "checkbox"].includes(e.type)) {
    const section = el("section", { class: "builder-validators", "aria-labelledby": "bp-validators-title" }, el("h3", { id: "bp-validators-title", text: "Checks on the answer" }));
    (e.validators || []).forEach((v, j) => section.append(validatorNode(e, v, j)));
    const kind = select([["numeric", "Number range"], ["text", "Text length"], ["email", "Email address"], ["regex", "Pattern (regular expression)"]], "numeric", () => {});
    section.append(el("div", { class: "builder-row" }, field("bp-add-validator-type", "New check", kind),
      el("button", { type: "button", class: "secondary", id: "bp-add-validator", text: "Add the check",
        onclick: () => set({ validators: [...(e.validators || []), { type: kind.value, ...(kind.value === "regex" ? { regex: ".*" } : {}) }] }, "Added a check") })));
    nodes.push(section);
  }
  for (const { prop, label: legend } of CONDITIONS) {
    if (prop === "requiredIf" && ["html", "panel", "expression"].includes(e.type)) continue;
    nodes.push(conditionNode(e, prop, legend));
  }
  const focused = document.activeElement && box.contains(document.activeElement) ? document.activeElement.id : null;
  box.replaceChildren(...nodes);
  if (focused && $(focused)) $(focused).focus();
}

function syncName() {
  const node = $("bp-name");
  if (node && document.activeElement !== node) node.value = get(model().def, selected).name || "";
}

// ---- preview, JSON, diff, server checks ------------------------------------------------------------

let previewTimer = null;
function renderPreview() {
  window.clearTimeout(previewTimer);
  $("fe-preview-frame").dataset.pending = "true"; // a redraw is coming: answers typed now would be lost
  previewTimer = window.setTimeout(() => {
    $("fe-preview-frame").dataset.pending = "false";
    const box = $("fe-preview");
    const mount = el("div"); // a fresh mount each time: the renderer keeps state on its container
    box.replaceChildren(mount);
    try {
      const survey = new window.Survey.Model(save(model()));
      survey.showCompleteButton = false;
      survey.render(mount);
      window.porticoPreview = survey; // for browser tests
    } catch (err) {
      box.append(el("p", { class: "error", text: `The preview cannot show this: ${err.message}` }));
    }
  }, 150);
}

function renderJson() {
  const json = $("fe-json");
  if (document.activeElement === json) return; // do not rewrite what the person is typing
  json.value = JSON.stringify(save(model()), null, 2);
  say("fe-json-error", "");
}

const propLabel = (p) => PROP_LABEL[p] || p;
function renderDiff() {
  const list = $("fe-diff");
  if (!published) { list.replaceChildren(el("li", { text: "Not published yet: everything is new." })); return; }
  const d = diff(published.definition, save(model()));
  const items = [
    ...d.added.map((t) => el("li", { class: "diff-added" }, el("strong", { text: "Added: " }), t)),
    ...d.removed.map((t) => el("li", { class: "diff-removed" }, el("strong", { text: "Removed: " }), t)),
    ...d.changed.map((c) => el("li", { class: "diff-changed" }, el("strong", { text: "Changed: " }), `${c.title} (${c.props.map(propLabel).join(", ")})`)),
  ];
  list.replaceChildren(...(items.length ? items : [el("li", { text: "No changes since that version." })]));
}

let checkTimer = null;
function scheduleCheck() {
  window.clearTimeout(checkTimer);
  checkTimer = window.setTimeout(check, 500);
}

async function check() {
  const result = await api("POST", "/api/v1/forms/check", { definition: save(model()) });
  if (!result.ok) return;
  showProblems(result.data.problems);
}

function showProblems(list) {
  problems = list || [];
  const general = problems.filter((p) => !pathOfProblem(p.path) || !walk(model().def).some((w) => samePath(w.path, pathOfProblem(p.path))));
  const items = problems.map((p) => el("li", {}, el("strong", { text: p.title || p.name || (pathOfProblem(p.path) ? "A question" : "The form") }), `: ${p.messages.join("; ")}`));
  $("fe-problems").replaceChildren(...items);
  $("fe-problems-card").hidden = !items.length;
  $("fe-check-summary").textContent = problems.length
    ? `${problems.length} problem${problems.length === 1 ? "" : "s"} to fix before publishing${general.length ? "" : " (shown beside their questions)"}.`
    : "The server's checks pass.";
  markProblems();
}

/** Put the checks beside their questions in place: redrawing the canvas or the properties here would
 * drop a drag in progress or a choice not yet applied. */
function markProblems() {
  for (const li of document.querySelectorAll(".builder-item")) {
    const issues = problemsAt(JSON.parse(li.dataset.path));
    li.classList.toggle("has-problem", issues.length > 0);
    for (const old of li.querySelectorAll(":scope > .builder-problem")) old.remove();
    const row = li.querySelector(":scope > .builder-row");
    row.after(...issues.map((issue) => el("p", { class: "error builder-problem", text: issue.messages.join("; ") })));
  }
  const box = $("bp-problems");
  if (box) box.replaceChildren(...(selected ? problemsAt(selected) : []).map((issue) => el("p", { class: "error", text: issue.messages.join("; ") })));
}

function refresh({ keepProps = false } = {}) {
  renderCanvas();
  if (!keepProps) renderProps();
  else syncName();
  renderPreview();
  renderJson();
  renderDiff();
  $("fe-undo").disabled = !history.canUndo;
  $("fe-redo").disabled = !history.canRedo;
  scheduleCheck();
}

// ---- saving and versions ---------------------------------------------------------------------------

function report(result, okText) {
  if (result.ok) { say("fe-status", okText); return true; }
  const details = (result.error && result.error.details) || {};
  const fromServer = Object.entries(details).map(([path, messages]) => ({ path, name: "", title: "", messages }));
  if (fromServer.length) showProblems(fromServer.map((p) => ({ ...p, title: titleAt(p.path) })));
  say("fe-status", (result.error && result.error.message) || `Failed (${result.status}).`, true);
  return false;
}

function titleAt(jsonPath) {
  const path = pathOfProblem(jsonPath);
  try { return path ? label(get(model().def, path)) : ""; } catch { return ""; }
}

function showForm(f) {
  $("fe-title").value = f.title;
  $("fe-kind").value = f.kind;
  $("form-version").textContent = f.latest_version
    ? `(published version ${f.latest_version}${f.archived ? ", archived" : ""})` : "(draft, never published)";
  $("fe-copy-box").hidden = f.kind !== "dynamic";
}

async function saveDraft() {
  const definition = save(model());
  const title = $("fe-title").value.trim();
  if (key === "new") {
    const newKey = $("fe-key").value.trim();
    const result = await api("POST", "/api/v1/forms", { key: newKey, kind: $("fe-kind").value, title, definition });
    if (!report(result, "Draft created.")) return false;
    key = newKey;
    root.dataset.key = key;
    $("fe-key").readOnly = true;
    $("fe-kind").disabled = true;
    window.history.replaceState(null, "", `/studio/forms/${encodeURIComponent(key)}`);
    showForm(result.data);
    return true;
  }
  const result = await api("PUT", `/api/v1/forms/${encodeURIComponent(key)}`, { definition, title: title || undefined });
  if (!report(result, "Draft saved: the server found no problems.")) return false;
  showForm(result.data);
  return true;
}

async function loadPublished() {
  if (key === "new") { published = null; return; }
  const result = await api("GET", `/api/v1/forms/${encodeURIComponent(key)}/published`);
  published = result.ok ? result.data : null;
  $("fe-diff-title").textContent = published ? `Changes since published version ${published.number}` : "Changes since the last published version";
}

function wire() {
  $("form-meta").addEventListener("submit", async (event) => { event.preventDefault(); await saveDraft(); });
  $("fe-publish").addEventListener("click", async () => {
    if (!(await saveDraft())) return;
    const result = await api("POST", `/api/v1/forms/${encodeURIComponent(key)}/publish`);
    if (report(result, `Published version ${result.data.number}.`)) {
      $("form-version").textContent = `(published version ${result.data.number})`;
      await loadPublished();
      renderDiff();
    }
  });
  $("fe-archive").addEventListener("click", async () => {
    if (!window.confirm("Archive this form? No new requests will use it.")) return;
    const result = await api("POST", `/api/v1/forms/${encodeURIComponent(key)}/archive`);
    if (report(result, "Archived.")) showForm(result.data);
  });
  $("fe-copy").addEventListener("click", async () => {
    const newKey = $("fe-copy-key").value.trim();
    const result = await api("POST", `/api/v1/forms/${encodeURIComponent(key)}/copy-to-intake`, { new_key: newKey });
    if (report(result, "Copied.")) window.location.href = `/studio/forms/${encodeURIComponent(newKey)}`;
  });
  $("fe-undo").addEventListener("click", undo);
  $("fe-redo").addEventListener("click", redo);
  $("fe-add-page").addEventListener("click", () => {
    const added = addPage(model());
    commit(added.model, "Added a page");
    announce(`Page ${added.path[0] + 1} added.`);
  });
  for (const tool of TOOLBOX) {
    const button = el("button", { type: "button", class: "secondary builder-tool", draggable: "true", "data-type": tool.type,
      text: tool.label, "aria-label": `Add ${tool.label}`, onclick: () => addType(tool.type) });
    button.addEventListener("dragstart", (event) => {
      event.dataTransfer.setData("text/x-portico-type", tool.type);
      event.dataTransfer.effectAllowed = "copy";
    });
    $("builder-tools").append(el("li", {}, button));
  }
  $("fe-json").addEventListener("input", () => {
    let definition;
    try { definition = JSON.parse($("fe-json").value); } catch (err) { say("fe-json-error", `Not valid JSON: ${err.message}`, true); return; }
    if (!definition || typeof definition !== "object" || Array.isArray(definition)) { say("fe-json-error", "A form is a JSON object.", true); return; }
    say("fe-json-error", "");
    const next = load(definition);
    commit({ ...next, flat: next.flat }, "Edited the JSON", "json");
  });
  for (const [id, width] of [["fe-desktop", ""], ["fe-phone", "390px"]]) {
    $(id).addEventListener("click", () => {
      $("fe-preview-frame").style.maxWidth = width;
      $("fe-desktop").setAttribute("aria-pressed", String(!width));
      $("fe-phone").setAttribute("aria-pressed", String(Boolean(width)));
    });
  }
  document.addEventListener("keydown", (event) => {
    const mod = event.ctrlKey || event.metaKey;
    if (!mod || ["INPUT", "TEXTAREA", "SELECT"].includes(event.target.tagName)) return;
    if (event.key === "z" && !event.shiftKey) { event.preventDefault(); undo(); }
    if ((event.key === "z" && event.shiftKey) || event.key === "y") { event.preventDefault(); redo(); }
  });
}

async function start() {
  wire();
  if (key === "new") {
    say("fe-status", "Choose a key, a title and a kind, add questions from the toolbox, then save the draft.");
  } else {
    const result = await api("GET", `/api/v1/forms/${encodeURIComponent(key)}`);
    if (!result.ok) { say("fe-status", "This form does not exist.", true); return; }
    showForm(result.data);
    history = new History(load(result.data.draft));
    await loadPublished();
    say("fe-status", "Add questions from the toolbox or drag them onto the form; the preview follows.");
  }
  refresh();
  root.dataset.ready = "true";
}
start();
