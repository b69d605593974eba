// The form builder's pure logic: a SurveyJS definition as pages of elements, edited by small operations
// (add, move, duplicate, delete, undo), names derived from titles, conditions as "question — operator —
// value" rows and back, and a diff between two definitions. No DOM here: node's test runner checks it
// (model.test.mjs), and builder.mjs draws it.
//
// An element is addressed by its path: [page, index] on a page, [page, index, index] inside a panel, and
// so on. The builder edits the SurveyJS JSON itself (no shadow model), so what it saves is what it loaded
// except for the edits made; the one normalization is documented at `load`.

export const TOOLBOX = [
  { type: "text", label: "Single line text" },
  { type: "comment", label: "Long text" },
  { type: "radiogroup", label: "Single choice" },
  { type: "checkbox", label: "Multiple choice" },
  { type: "dropdown", label: "Dropdown" },
  { type: "tagbox", label: "Tag box" },
  { type: "boolean", label: "Yes / No" },
  { type: "rating", label: "Rating" },
  { type: "matrix", label: "Grid (matrix)" },
  { type: "multipletext", label: "Several text boxes" },
  { type: "paneldynamic", label: "Repeating panel" },
  { type: "matrixdynamic", label: "Repeating table" },
  { type: "signaturepad", label: "Signature" },
  { type: "file", label: "File upload" },
  { type: "html", label: "Text block (HTML)" },
  { type: "expression", label: "Calculated value" },
  { type: "panel", label: "Panel (group)" },
];
export const INPUT_TYPES = ["text", "email", "tel", "number", "date", "url", "time", "month", "password"];
export const CHOICE_TYPES = new Set(["radiogroup", "checkbox", "dropdown", "tagbox"]);
export const OPERATORS = [
  { op: "=", label: "equals" },
  { op: "<>", label: "does not equal" },
  { op: ">", label: "is greater than" },
  { op: "<", label: "is less than" },
  { op: ">=", label: "is at least" },
  { op: "<=", label: "is at most" },
  { op: "contains", label: "contains" },
  { op: "notcontains", label: "does not contain" },
  { op: "anyof", label: "is any of (comma separated)" },
  { op: "empty", label: "is empty", unary: true },
  { op: "notempty", label: "is not empty", unary: true },
];
const UNARY = new Set(OPERATORS.filter((o) => o.unary).map((o) => o.op));

const clone = (value) => JSON.parse(JSON.stringify(value));

/** The definition the builder edits: always with pages. A definition with top-level `elements` and no
 * `pages` (most of form_defs/) is moved onto one page and `flat` remembers it, so `save` writes it back
 * flat as long as it still has that single, otherwise untouched page. */
export function load(definition) {
  const def = clone(definition || {});
  let flat = false;
  if (!Array.isArray(def.pages)) {
    flat = true;
    const elements = def.elements || [];
    delete def.elements;
    def.pages = [{ name: "page1", elements }];
  }
  for (const page of def.pages) if (!Array.isArray(page.elements)) page.elements = [];
  return { def, flat };
}

/** The SurveyJS JSON to store: `load`'s page wrapper removed again when it is still the only, bare page. */
export function save(model) {
  const def = clone(model.def);
  const [only] = def.pages;
  const bare = def.pages.length === 1 && only.name === "page1" && Object.keys(only).length === 2;
  if (model.flat && bare) {
    delete def.pages;
    const out = {};
    // keep the usual key order (title, description, elements, the rest) so the JSON view reads naturally
    for (const k of ["title", "description"]) if (k in def) out[k] = def[k];
    out.elements = only.elements;
    for (const [k, v] of Object.entries(def)) if (!(k in out)) out[k] = v;
    return out;
  }
  return def;
}

/** Every element of the definition with its path, depth first (panels before their children). */
export function walk(def) {
  const out = [];
  const visit = (elements, path) => elements.forEach((el, i) => {
    out.push({ el, path: [...path, i] });
    if (el.type === "panel") visit(el.elements || [], [...path, i]);
  });
  def.pages.forEach((page, p) => visit(page.elements, [p]));
  return out;
}

/** Every name used in the definition, lowercased (SurveyJS names are case-insensitive), nested ones too. */
export function names(def) {
  const found = new Set();
  const visit = (node) => {
    if (Array.isArray(node)) { node.forEach(visit); return; }
    if (!node || typeof node !== "object") return;
    if (typeof node.name === "string" && (node.type || node.elements)) found.add(node.name.toLowerCase());
    for (const key of ["pages", "elements", "templateElements"]) if (node[key]) visit(node[key]);
  };
  visit(def);
  for (const cv of def.calculatedValues || []) if (cv.name) found.add(cv.name.toLowerCase());
  return found;
}

/** A question name from its title: lowercase words joined by "_", starting with a letter, at most 40
 * characters, made unique against `taken` (a set of lowercased names) with _2, _3 … */
export function deriveName(title, taken = new Set()) {
  let base = String(title || "").normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
    .replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 40).replace(/_+$/, "");
  if (!/^[a-z]/.test(base)) base = `q_${base}`.replace(/_+$/, "");
  if (base === "q") base = "question";
  let name = base;
  for (let n = 2; taken.has(name.toLowerCase()); n++) name = `${base}_${n}`;
  return name;
}

/** A new element of `type` with a title, a unique name and what SurveyJS and the server need to accept it. */
export function createElement(type, taken = new Set()) {
  const label = (TOOLBOX.find((t) => t.type === type) || { label: "Question" }).label;
  const title = type === "panel" ? "New section" : `New ${label.toLowerCase()} question`;
  // the name is the title's, so `retitle` keeps deriving it until someone edits the name by hand
  const name = deriveName(type === "html" ? "text block" : title, taken);
  const el = { type, name };
  if (type === "html") return { type, name, html: "<p>Text shown to the client.</p>" };
  el.title = title;
  if (CHOICE_TYPES.has(type)) el.choices = ["Option 1", "Option 2", "Option 3"];
  if (type === "matrix") { el.columns = ["Never", "Sometimes", "Often"]; el.rows = ["Row 1", "Row 2"]; }
  if (type === "multipletext") el.items = [{ name: "first" }, { name: "second" }];
  if (type === "paneldynamic") el.templateElements = [{ type: "text", name: "item", title: "Item" }];
  if (type === "matrixdynamic") el.columns = [{ name: "what", cellType: "text", title: "What" }];
  if (type === "expression") el.expression = "1 + 1";
  if (type === "panel") el.elements = [];
  return el;
}

// ---- containers and paths --------------------------------------------------------------------------

/** The array holding the element at `path`, and its index there. */
export function locate(def, path) {
  let list = def.pages[path[0]].elements;
  for (let i = 1; i < path.length - 1; i++) list = list[path[i]].elements;
  return { list, index: path[path.length - 1] };
}

export function get(def, path) {
  const { list, index } = locate(def, path);
  return list[index];
}

/** The list of elements of a container path: [page] or the path of a panel. */
function children(def, container) {
  if (container.length === 1) return def.pages[container[0]].elements;
  const panel = get(def, container);
  if (!panel || panel.type !== "panel") throw new Error("only pages and panels hold elements");
  panel.elements = panel.elements || [];
  return panel.elements;
}

function samePrefix(a, b) {
  return a.length <= b.length && a.every((v, i) => v === b[i]);
}

// ---- operations: each takes a model and returns a new one (the old stays intact for undo) ----------

function next(model, def) { return { ...model, def }; }

/** Add an element of `type` into `container` (a page [p] or a panel path) at `index` (default: the end). */
export function addElement(model, type, container = [0], index) {
  const def = clone(model.def);
  const list = children(def, container);
  const at = index === undefined ? list.length : Math.max(0, Math.min(index, list.length));
  list.splice(at, 0, createElement(type, names(def)));
  return { model: next(model, def), path: [...container, at] };
}

export function addPage(model) {
  const def = clone(model.def);
  const taken = new Set(def.pages.map((p) => (p.name || "").toLowerCase()));
  let n = def.pages.length + 1;
  while (taken.has(`page${n}`)) n++;
  def.pages.push({ name: `page${n}`, elements: [] });
  return { model: next(model, def), path: [def.pages.length - 1] };
}

/** Move the element at `from` into `container` at `index` (an index counted before the element left). */
export function moveElement(model, from, container, index) {
  if (samePrefix(from, container)) throw new Error("a panel cannot move into itself");
  const def = clone(model.def);
  const source = locate(def, from);
  const [el] = source.list.splice(source.index, 1);
  // the container path may shift when the element left an earlier slot of the same list
  const target = container.slice();
  if (from.length <= target.length && samePrefix(from.slice(0, -1), target) && target[from.length - 1] > from[from.length - 1]) {
    target[from.length - 1] -= 1;
  }
  const list = children(def, target);
  let at = index === undefined ? list.length : index;
  if (samePrefix(from.slice(0, -1), target) && from.length === target.length + 1 && at > source.index) at -= 1;
  at = Math.max(0, Math.min(at, list.length));
  list.splice(at, 0, el);
  return { model: next(model, def), path: [...target, at] };
}

/** Move one place up (-1) or down (+1); past the start or end of a page it goes to the neighbouring page.
 * Returns null when it cannot move further. */
export function moveBy(model, path, delta) {
  const { list, index } = locate(model.def, path);
  const container = path.slice(0, -1);
  const to = index + delta;
  if (to >= 0 && to < list.length) return moveElement(model, path, container, delta > 0 ? to + 1 : to);
  if (container.length === 1) {
    const page = container[0] + delta;
    if (page < 0 || page >= model.def.pages.length) return null;
    const size = model.def.pages[page].elements.length;
    return moveElement(model, path, [page], delta > 0 ? 0 : size);
  }
  return null;
}

/** A copy right after the original, with fresh names for it and everything inside it. */
export function duplicate(model, path) {
  const def = clone(model.def);
  const { list, index } = locate(def, path);
  const copy = clone(list[index]);
  const taken = names(def);
  const rename = (el) => {
    if (el.name) { el.name = deriveName(`${el.name}_copy`, taken); taken.add(el.name.toLowerCase()); }
    for (const child of el.elements || []) rename(child);
  };
  rename(copy);
  list.splice(index + 1, 0, copy);
  return { model: next(model, def), path: [...path.slice(0, -1), index + 1] };
}

export function remove(model, path) {
  const def = clone(model.def);
  const { list, index } = locate(def, path);
  const [removed] = list.splice(index, 1);
  return { model: next(model, def), removed };
}

export function removePage(model, p) {
  if (model.def.pages.length === 1) throw new Error("a form keeps at least one page");
  const def = clone(model.def);
  def.pages.splice(p, 1);
  return { model: next(model, def) };
}

/** Set (or, with undefined/""/[]/false for optional flags, drop) properties of the element at `path`. */
export function update(model, path, props) {
  const def = clone(model.def);
  const el = path.length === 1 ? def.pages[path[0]] : get(def, path);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === "" || (Array.isArray(v) && !v.length) || (k === "isRequired" && v === false)) delete el[k];
    else el[k] = clone(v);
  }
  return next(model, def);
}

/** Change a title and, while the name still is the one derived from the old title, the name with it. */
export function retitle(model, path, title) {
  const el = get(model.def, path);
  const taken = names(model.def);
  taken.delete((el.name || "").toLowerCase());
  const derived = el.name === deriveName(el.title || "", taken);
  const props = { title };
  if (derived && title.trim()) props.name = deriveName(title, taken);
  return update(model, path, props);
}

/** Undo history: a list of models; `push` forgets what was undone. */
export class History {
  constructor(model) { this.past = []; this.future = []; this.current = model; }
  push(model, label = "") { this.past.push({ model: this.current, label }); this.future = []; this.current = model; return model; }
  get canUndo() { return this.past.length > 0; }
  get canRedo() { return this.future.length > 0; }
  undo() {
    if (!this.past.length) return null;
    const { model, label } = this.past.pop();
    this.future.push({ model: this.current, label });
    this.current = model;
    return label;
  }
  redo() {
    if (!this.future.length) return null;
    const { model, label } = this.future.pop();
    this.past.push({ model: this.current, label });
    this.current = model;
    return label;
  }
}

// ---- conditions: rows <-> SurveyJS expression ----------------------------------------------------

function literal(value) {
  const text = String(value).trim();
  if (/^-?\d+(\.\d+)?$/.test(text)) return text;
  if (text === "true" || text === "false") return text;
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** A SurveyJS expression from rows [{question, operator, value}] joined by "and" or "or". */
export function rowsToExpression(rows, join = "and") {
  const parts = rows.filter((r) => r.question && r.operator).map((r) => {
    if (UNARY.has(r.operator)) return `{${r.question}} ${r.operator}`;
    if (r.operator === "anyof") {
      const items = String(r.value ?? "").split(",").map((s) => s.trim()).filter(Boolean);
      return `{${r.question}} anyof [${items.map(literal).join(", ")}]`;
    }
    return `{${r.question}} ${r.operator} ${literal(r.value ?? "")}`;
  });
  return parts.join(` ${join} `);
}

const VAL = String.raw`(?:-?\d+(?:\.\d+)?|true|false|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")`;
const VALUE = `(${VAL})`;
const ROW = new RegExp(String.raw`^\{([^{}]+)\}\s*(=|==|<>|!=|>=|<=|>|<|contains|notcontains|anyof|empty|notempty)\s*(${VAL}|\[\s*(?:${VAL}\s*(?:,\s*${VAL}\s*)*)?\])?$`, "i");

function unquote(text) {
  if (/^['"]/.test(text)) return text.slice(1, -1).replace(/\\(.)/g, "$1");
  return text;
}

/** Rows and their join from an expression, or null when it is more than rows can say (then only the
 * text is edited). Splits on " and " / " or " outside quotes; one kind of join only. */
export function expressionToRows(expression) {
  const text = String(expression || "").trim();
  if (!text) return { rows: [], join: "and" };
  const parts = [];
  const joins = new Set();
  let quote = null, depth = 0, start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) { if (c === "\\") i++; else if (c === quote) quote = null; continue; }
    if (c === "'" || c === '"') { quote = c; continue; }
    if (c === "[" || c === "(") depth++;
    if (c === "]" || c === ")") depth--;
    if (depth) continue;
    const m = /^\s+(and|or|&&|\|\|)\s+/i.exec(text.slice(i));
    if (m) { parts.push(text.slice(start, i)); joins.add(m[1].toLowerCase().replace("&&", "and").replace("||", "or")); i += m[0].length - 1; start = i + 1; }
  }
  parts.push(text.slice(start));
  if (joins.size > 1) return null;
  const rows = [];
  for (const part of parts) {
    const m = ROW.exec(part.trim());
    if (!m) return null;
    let op = m[2].toLowerCase();
    op = { "==": "=", "!=": "<>" }[op] || op;
    const raw = m[3];
    if (UNARY.has(op) !== (raw === undefined)) return null;
    let value = "";
    if (raw !== undefined && raw.startsWith("[")) {
      if (op !== "anyof") return null;
      value = [...raw.matchAll(new RegExp(VALUE, "g"))].map((v) => unquote(v[1])).join(", ");
    } else if (raw !== undefined) {
      if (op === "anyof") return null;
      value = unquote(raw);
    }
    rows.push({ question: m[1], operator: op, value });
  }
  return { rows, join: [...joins][0] || "and" };
}

// ---- diff ----------------------------------------------------------------------------------------

function questions(def) {
  const out = new Map();
  if (!def) return out;
  const { def: paged } = load(def);
  for (const { el } of walk(paged)) if (el.name) out.set(el.name.toLowerCase(), el);
  return out;
}

const label = (el) => el.title || el.name;

/** JSON with sorted keys: the server stores definitions that way, so key order is no change. */
function stable(value) {
  if (Array.isArray(value)) return `[${value.map(stable).join(",")}]`;
  if (value && typeof value === "object") return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${stable(value[k])}`).join(",")}}`;
  return JSON.stringify(value);
}

/** What changed from `before` (the last published version) to `after`: added, removed and changed
 * elements by title, each change naming the properties that differ. */
export function diff(before, after) {
  const old = questions(before);
  const now = questions(after);
  const added = [], removed = [], changed = [];
  for (const [key, el] of now) {
    if (!old.has(key)) { added.push(label(el)); continue; }
    const prev = old.get(key);
    const props = [...new Set([...Object.keys(prev), ...Object.keys(el)])]
      .filter((k) => k !== "elements" && stable(prev[k]) !== stable(el[k]));
    if (props.length) changed.push({ title: label(el), props });
  }
  for (const [key, el] of old) if (!now.has(key)) removed.push(label(el));
  return { added, removed, changed };
}

// ---- server checks by element ----------------------------------------------------------------------

/** The element path a server JSON path ("$.pages[0].elements[2].choices[1]") points into, in the paged
 * model: null for paths about the form as a whole. A flat definition's "$.elements[i]" is page 0. */
export function pathOfProblem(jsonPath) {
  const path = [];
  let rest = jsonPath.replace(/^\$/, "");
  const page = /^\.pages\[(\d+)\]/.exec(rest);
  if (page) { path.push(Number(page[1])); rest = rest.slice(page[0].length); } else path.push(0);
  for (let m; (m = /^\.elements\[(\d+)\]/.exec(rest)); rest = rest.slice(m[0].length)) path.push(Number(m[1]));
  return path.length > 1 ? path : null;
}

export const CONDITIONS = [
  { prop: "visibleIf", label: "Show only when" },
  { prop: "enableIf", label: "Editable only when" },
  { prop: "requiredIf", label: "Required only when" },
];

/** What the property panel writes back for an element's conditions: an expression rows can say is
 * re-spelled from its rows (`{a} == 1` becomes `{a} = 1`, quotes become single quotes, spacing one space);
 * any other expression is kept exactly as typed. The only normalization the builder makes to a loaded
 * form besides `load`'s page wrapper, and it never changes what the condition means. */
export function respell(model, path) {
  const el = get(model.def, path);
  const props = {};
  for (const { prop } of CONDITIONS) {
    if (typeof el[prop] !== "string") continue;
    const parsed = expressionToRows(el[prop]);
    if (parsed && parsed.rows.length) props[prop] = rowsToExpression(parsed.rows, parsed.join);
  }
  return Object.keys(props).length ? update(model, path, props) : model;
}
