// The BPMN modeler page: bpmn-js on the latest deployed version, a properties panel for what the engine
// needs, server-side checks, deploy as a new version, and the changes against the live version.
(function () {
  "use strict";
  const page = document.getElementById("modeler-page");
  if (!page) return;
  const { api, el, say } = window.Studio;
  const Props = window.StudioProperties;
  let processId = page.dataset.processId;
  const isNew = processId === "new";
  let liveVersion = null;
  let modeler = null;
  let selected = null;
  const form = document.getElementById("props-form");
  const fields = document.getElementById("props-fields");

  const BLANK = (id) => `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs_${id}" targetNamespace="http://portico.local/bpmn">
  <bpmn:process id="${id}" name="New process" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>flow_1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="flow_1" sourceRef="start" targetRef="end"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="${id}_diagram"><bpmndi:BPMNPlane id="${id}_plane" bpmnElement="${id}">
    <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="100" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="end_di" bpmnElement="end"><dc:Bounds x="400" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="flow_1_di" bpmnElement="flow_1"><di:waypoint x="136" y="118"/><di:waypoint x="400" y="118"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>`;

  function fillSelect(id, options) {
    const select = document.getElementById(id);
    for (const [value, label] of options) select.append(el("option", { value, text: label }));
  }

  // The element list's groups, in the order a person looks for them. Connections (sequence and message
  // flows, associations) are left out: they are edited by dragging in the diagram, and were most of the list.
  const GROUPS = [
    ["Tasks for people", ["bpmn:UserTask", "bpmn:ManualTask"]],
    ["Automatic steps", ["bpmn:ServiceTask", "bpmn:ScriptTask", "bpmn:BusinessRuleTask", "bpmn:SendTask", "bpmn:ReceiveTask", "bpmn:Task"]],
    ["Events and timers", ["bpmn:StartEvent", "bpmn:EndEvent", "bpmn:IntermediateCatchEvent", "bpmn:IntermediateThrowEvent", "bpmn:BoundaryEvent"]],
    ["Decisions (gateways)", ["bpmn:ExclusiveGateway", "bpmn:ParallelGateway", "bpmn:InclusiveGateway", "bpmn:EventBasedGateway", "bpmn:ComplexGateway"]],
    ["Subprocesses", ["bpmn:SubProcess", "bpmn:CallActivity", "bpmn:Transaction"]],
    ["Lanes", ["bpmn:Lane", "bpmn:Participant"]],
  ];
  const CONNECTIONS = ["bpmn:SequenceFlow", "bpmn:MessageFlow", "bpmn:Association", "bpmn:DataInputAssociation", "bpmn:DataOutputAssociation"];

  function kindWords(type) {
    return type.replace("bpmn:", "").replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
  }

  // What a person calls an element: its name, or "unnamed exclusive gateway (minor_gw)" to tell two apart.
  function label(element) {
    const bo = element.businessObject;
    return bo.name ? bo.name : `Unnamed ${kindWords(element.type)} (${element.id})`;
  }

  // Every element in a list, so the diagram can be edited without a pointer.
  function fillPicker() {
    const picker = document.getElementById("element-picker");
    picker.replaceChildren(el("option", { value: "", text: "The process itself" }));
    const shapes = modeler.get("elementRegistry").filter((e) => !e.labelTarget && e.businessObject && e.parent
      && e.type !== "label" && e.type !== "bpmn:Process" && !CONNECTIONS.includes(e.type) && !e.waypoints);
    const byName = (a, b) => label(a).localeCompare(label(b));
    const placed = new Set();
    const groups = [...GROUPS, ["Other", null]];
    for (const [title, types] of groups) {
      const members = shapes.filter((e) => !placed.has(e) && (!types || types.includes(e.type))).sort(byName);
      if (!members.length) continue;
      const group = el("optgroup", { label: title });
      for (const e of members) {
        placed.add(e);
        group.append(el("option", { value: e.id, text: label(e) }));
      }
      picker.append(group);
    }
    picker.value = selected ? selected.id : "";
  }

  // Select an element, scroll the diagram to it and show it in the properties panel.
  function focusElement(element) {
    modeler.get("selection").select(element);
    const canvas = modeler.get("canvas");
    if (canvas.scrollToElement) canvas.scrollToElement(element, { top: 80, bottom: 80, left: 120, right: 80 });
    show(element);
  }

  // Zoom to fit, leaving the palette's strip free so it never covers the diagram's start.
  function fit() {
    const canvas = modeler.get("canvas");
    canvas.zoom("fit-viewport", "auto");
    const box = canvas.viewbox();
    if (!box.inner.width || !box.inner.height) return;
    const container = document.getElementById("canvas");
    const palette = container.querySelector(".djs-palette");
    const left = palette ? palette.getBoundingClientRect().right - container.getBoundingClientRect().left + 16 : 16;
    const pad = 24;
    const scale = Math.min((box.outer.width - left - pad) / box.inner.width, (box.outer.height - 2 * pad) / box.inner.height, 1);
    if (!(scale > 0)) return;
    canvas.viewbox({ x: box.inner.x - left / scale, y: box.inner.y - pad / scale,
      width: box.outer.width / scale, height: box.outer.height / scale });
  }

  function show(element) {
    selected = element;
    const picker = document.getElementById("element-picker");
    if (picker.querySelector(`option[value="${CSS.escape(element ? element.id : "")}"]`)) picker.value = element ? element.id : "";
    const root = modeler.get("canvas").getRootElement();
    const target = element || root;
    const bo = target.businessObject;
    const values = Props.read(bo);
    const k = Props.kinds(bo);
    document.getElementById("props-empty").hidden = true;
    fields.hidden = false;
    document.getElementById("prop-id").textContent = values.id;
    document.getElementById("prop-type").textContent = values.type;
    for (const [key, value] of Object.entries(values)) {
      const input = form.elements[key];
      if (input && input.tagName !== "CODE") input.value = value;
    }
    document.getElementById("prop-type").textContent = kindWords(bo.$type);
    keepChoice("prop-form", values.formKey, "a form that is not published");
    keepChoice("prop-operation", values.operation, "an operation this server does not have");
    keepChoice("prop-lane", values.lane, "a lane the engine does not know");
    showTimer(values.timerKind, values.timer);
    k.insert = Boolean(element) && outgoing(element).length === 1;
    k.root = !element;
    form.elements.processId.value = k.root ? values.id : "";
    for (const block of fields.querySelectorAll("[data-for]")) block.hidden = !k[block.dataset.for];
  }

  // A value the diagram holds that the list does not offer stays choosable, said to be unknown, so that
  // applying other changes never drops it silently.
  function keepChoice(id, value, what) {
    const select = document.getElementById(id);
    if (!value || [...select.options].some((o) => o.value === value)) { select.value = value; return; }
    select.append(el("option", { value, text: `${Props.words(value)} (${what})` }));
    select.value = value;
  }

  const timerInputs = ["timerKind", "timerCount", "timerUnit", "timerTimes", "timerDate"];

  // Put a timer's expression into the picker; an expression the picker cannot show opens the advanced box.
  function showTimer(kind, expression) {
    const picked = Props.parseTimer(kind, expression);
    form.elements.timerCount.value = picked && picked.count ? picked.count : "";
    form.elements.timerUnit.value = picked && picked.unit ? picked.unit : "D";
    form.elements.timerTimes.value = picked && picked.times ? picked.times : "";
    form.elements.timerDate.value = picked && picked.date ? picked.date : "";
    form.elements.timer.value = expression || "";
    document.getElementById("prop-timer-advanced").open = Boolean(expression) && !picked;
    timerLayout();
  }

  function pickedTimer() {
    const f = form.elements;
    return { count: f.timerCount.value, unit: f.timerUnit.value, times: f.timerTimes.value, date: f.timerDate.value };
  }

  function timerLayout() {
    const kind = form.elements.timerKind.value;
    fields.querySelector("[data-timer=every]").hidden = kind === "timeDate";
    fields.querySelector("[data-timer=times]").hidden = kind !== "timeCycle";
    fields.querySelector("[data-timer=date]").hidden = kind !== "timeDate";
    document.getElementById("prop-timer-count-label").textContent = kind === "timeCycle" ? "Every" : "After";
    const advanced = document.getElementById("prop-timer-advanced").open;
    document.getElementById("prop-timer-summary").textContent = advanced
      ? "Fires as the expression below says." : Props.describeTimer(kind, pickedTimer());
  }

  // The picker writes the expression: people choose "every 2 days", the diagram stores "R/P2D".
  function timerPicked() {
    const advanced = document.getElementById("prop-timer-advanced");
    const expression = Props.timerExpression(form.elements.timerKind.value, pickedTimer());
    // An expression typed by a power user stays until the picker says something in its place.
    if (expression || !advanced.open) {
      advanced.open = false;
      form.elements.timer.value = expression;
    }
    timerLayout();
  }

  function outgoing(element) {
    return (element.outgoing || []).filter((c) => c.type === "bpmn:SequenceFlow");
  }

  // Put a new user task on the element's one outgoing flow (element → new task → old target), placed
  // by bpmn-js's auto-place; the keyboard-friendly way to add a step without dragging onto a flow.
  function insertUserTask() {
    if (!selected || outgoing(selected).length !== 1) return;
    const flow = outgoing(selected)[0];
    const shape = modeler.get("elementFactory").createShape({ type: "bpmn:UserTask" });
    const created = modeler.get("autoPlace").append(selected, shape);
    modeler.get("modeling").reconnectStart(flow, created, { x: created.x + created.width, y: created.y + created.height / 2 });
    modeler.get("selection").select(created);
    show(created);
    document.getElementById("prop-name").focus();
    say("modeler-status", `Added ${created.businessObject.id}: name it, choose its lane and form, then Apply.`);
  }

  function values() {
    const out = {};
    for (const name of ["name", "lane", "formKey", "operation", "resultVariable", "parameters", "timerKind", "timer"]) {
      out[name] = form.elements[name].value.trim();
    }
    return out;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const target = selected || modeler.get("canvas").getRootElement();
    const newId = form.elements.processId.value.trim();
    if (!selected && newId && newId !== target.businessObject.id) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(newId)) {
        say("modeler-status", "A process id uses letters, digits and _ and starts with a letter.", true);
        form.elements.processId.focus();
        return;
      }
      modeler.get("modeling").updateProperties(target, { id: newId });
      if (isNew) processId = newId;
    }
    Props.apply(modeler, target, values());
    say("modeler-status", `Updated ${target.businessObject.id}. Check or deploy when ready.`);
  });

  function showProblems(details) {
    const card = document.getElementById("problems-card");
    const list = document.getElementById("problems");
    const registry = modeler.get("elementRegistry");
    const canvas = modeler.get("canvas");
    list.replaceChildren();
    registry.forEach((e) => canvas.removeMarker(e.id, "studio-problem"));
    for (const [elementId, messages] of Object.entries(details || {})) {
      const element = registry.get(elementId);
      if (element) canvas.addMarker(elementId, "studio-problem");
      for (const message of messages) {
        list.append(problemItem("Error", element, elementId, message));
      }
    }
    for (const warning of importWarnings) {
      list.append(problemItem("Warning", warning.element, warning.element ? warning.element.id : "", warning.message));
    }
    card.hidden = !list.children.length;
  }

  // One problem: its kind, a button naming the element that selects and scrolls to it, the message.
  function problemItem(kind, element, elementId, message) {
    const item = el("li", { class: `studio-${kind.toLowerCase()}` });
    item.append(el("strong", { text: `${kind}: ` }));
    if (element) {
      item.append(el("button", { type: "button", class: "link", text: label(element),
        "data-problem-for": element.id, onclick: () => focusElement(element) }), ` — ${message}`);
    } else {
      item.append(elementId ? `${elementId} — ${message}` : message);
    }
    return item;
  }

  // bpmn-js's import warnings name a model object (often an element's part, such as its loop settings):
  // the shape they belong to is the nearest one up the model's parents.
  let importWarnings = [];
  function placeWarnings(warnings) {
    const registry = modeler.get("elementRegistry");
    importWarnings = warnings.map((w) => {
      let node = w.element;
      while (node && !(node.id && registry.get(node.id))) node = node.$parent;
      const message = String(w.message || "").split("\n")[0]
        .replace(/^unresolved reference <([^>]+)>$/, "names “$1”, which is not an element of the diagram (kept as it is: a list the process reads from its data)")
        .replace(/^unparsable content <([^>]+)> detected;.*/, "has a part ($1) the modeler cannot read");
      return { element: node ? registry.get(node.id) : null, message };
    });
  }

  // SpiffWorkflow names a multi-instance's collection by a task-data variable in loopDataInputRef /
  // loopDataOutputRef; BPMN says those are references to element ids, so bpmn-js drops the ones it
  // cannot resolve. We note them at import and put them back on export.
  const BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL";
  const LOOP_REFS = ["loopDataInputRef", "loopDataOutputRef"];
  const AFTER_REFS = ["inputDataItem", "outputDataItem", "complexBehaviorDefinition", "completionCondition"];
  let loopRefs = {};

  function readLoopRefs(text) {
    const doc = new DOMParser().parseFromString(text, "application/xml");
    const found = {};
    for (const mi of doc.getElementsByTagNameNS(BPMN_NS, "multiInstanceLoopCharacteristics")) {
      const id = mi.parentNode.getAttribute("id");
      found[id] = {};
      for (const name of LOOP_REFS) {
        const node = mi.getElementsByTagNameNS(BPMN_NS, name)[0];
        if (node) found[id][name] = node.textContent.trim();
      }
    }
    return found;
  }

  function restoreLoopRefs(text) {
    const doc = new DOMParser().parseFromString(text, "application/xml");
    for (const mi of doc.getElementsByTagNameNS(BPMN_NS, "multiInstanceLoopCharacteristics")) {
      const refs = loopRefs[mi.parentNode.getAttribute("id")] || {};
      for (const name of [...LOOP_REFS].reverse()) {
        if (!refs[name] || mi.getElementsByTagNameNS(BPMN_NS, name).length) continue;
        const node = doc.createElementNS(BPMN_NS, `${mi.prefix ? mi.prefix + ":" : ""}${name}`);
        node.textContent = refs[name];
        const before = [...mi.children].find((c) => LOOP_REFS.includes(c.localName) || AFTER_REFS.includes(c.localName));
        mi.insertBefore(node, before || null);
      }
    }
    return new XMLSerializer().serializeToString(doc);
  }

  async function xml() {
    const { xml: text } = await modeler.saveXML({ format: true });
    return restoreLoopRefs(text);
  }

  async function check() {
    say("modeler-status", "Checking…");
    const result = await api("POST", "/api/v1/processes/check", { bpmn: await xml() });
    if (result.ok) {
      showProblems({});
      say("modeler-status", "No problems found: this diagram can be deployed.");
      const mine = result.data.processes.find((p) => p.process_id === processId);
      if (mine && mine.changes) renderDiff(mine.changes);
    } else {
      showProblems(result.error && result.error.details);
      say("modeler-status", (result.error && result.error.message) || "The check failed.", true);
    }
    return result.ok;
  }

  function renderDiff(diff) {
    const box = document.getElementById("diff");
    box.replaceChildren();
    let unchanged = 0;
    for (const [name, d] of Object.entries(diff.processes || {})) {
      const list = el("ul");
      if (d.added_process) list.append(el("li", { text: "new process" }));
      if (d.removed_process) list.append(el("li", { text: "no longer called" }));
      for (const a of d.added || []) list.append(el("li", { text: `added ${a}` }));
      for (const r of d.removed || []) list.append(el("li", { text: `removed ${r}` }));
      for (const [c, what] of Object.entries(d.changed || {})) list.append(el("li", { text: `changed ${c}: ${what.join(", ")}` }));
      if (!list.children.length) { unchanged += 1; continue; }
      box.append(el("h3", { text: name }), list);
    }
    if (unchanged) box.append(el("p", { class: "muted", text: `${unchanged} process(es) it uses are unchanged.` }));
    document.getElementById("diff-card").hidden = false;
  }

  async function deploy() {
    say("modeler-status", "Deploying…");
    const result = await api("POST", "/api/v1/processes", { bpmn: await xml() });
    if (!result.ok) {
      showProblems(result.error && result.error.details);
      say("modeler-status", `Not deployed: ${(result.error && result.error.message) || result.status}. The live version is unchanged.`, true);
      return;
    }
    showProblems({});
    const mine = result.data.deployed.find((d) => d.process_id === processId) || result.data.deployed[0];
    if (!mine.created) {
      say("modeler-status", `Nothing changed: version ${mine.number} is live.`);
      return;
    }
    say("modeler-status", `Deployed version ${mine.number} of ${mine.process_id}. New instances start on it.`);
    if (liveVersion && mine.process_id === processId) {
      const diff = await api("GET", `/api/v1/processes/${encodeURIComponent(processId)}/diff?from=${liveVersion}&to=${mine.number}`);
      if (diff.ok) renderDiff(diff.data);
    }
    if (isNew) { window.location.href = `/studio/processes/${encodeURIComponent(mine.process_id)}`; return; }
    liveVersion = mine.number;
    document.getElementById("version-label").textContent = `(live: version ${liveVersion})`;
  }

  async function download() {
    const blob = new Blob([await xml()], { type: "application/xml" });
    const link = el("a", { href: URL.createObjectURL(blob), download: `${processId}.bpmn` });
    document.body.append(link);
    link.click();
    link.remove();
  }

  async function start() {
    const descriptor = await (await fetch("/static/js/studio/spiffworkflow.json")).json();
    modeler = new window.BpmnJS({ container: "#canvas", moddleExtensions: { spiffworkflow: descriptor } });
    window.porticoModeler = modeler; // for browser tests
    const catalog = await api("GET", "/api/v1/studio/catalog");
    if (catalog.ok) {
      fillSelect("prop-form", catalog.data.forms.map((f) => [f.key, f.title || Props.words(f.key)]));
      fillSelect("prop-operation", catalog.data.operations.map((o) => [o, Props.words(o)]));
      fillSelect("prop-lane", catalog.data.lanes.map((l) => [l, Props.words(l)]));
    }
    let text = BLANK("new_process");
    if (!isNew) {
      const live = await api("GET", `/api/v1/processes/${encodeURIComponent(processId)}/diagram`);
      if (!live.ok) { say("modeler-status", "This process is not deployed.", true); return; }
      text = live.data.bpmn;
      liveVersion = live.data.number;
      document.getElementById("version-label").textContent = `(live: version ${liveVersion})`;
    }
    loopRefs = readLoopRefs(text);
    const { warnings } = await modeler.importXML(text);
    fit();
    window.addEventListener("resize", () => modeler.get("canvas").resized());
    const rootName = modeler.get("canvas").getRootElement().businessObject.name;
    const title = document.getElementById("process-title");
    if (title && rootName) title.textContent = rootName;
    for (const name of timerInputs) form.elements[name].addEventListener("input", timerPicked);
    document.getElementById("prop-timer-advanced").addEventListener("toggle", timerLayout);
    modeler.on("selection.changed", (event) => show(event.newSelection[0] || null));
    modeler.on("elements.changed", () => fillPicker());
    document.getElementById("element-picker").addEventListener("change", (event) => {
      const element = modeler.get("elementRegistry").get(event.target.value);
      if (element) modeler.get("selection").select(element); else modeler.get("selection").select(null);
      show(element || null);
    });
    fillPicker();
    show(null);
    placeWarnings(warnings);
    showProblems({});
    say("modeler-status", warnings.length
      ? `Loaded with ${warnings.length} warning${warnings.length === 1 ? "" : "s"}, listed under Problems.` : "Ready.");
    page.dataset.ready = "true";
  }

  document.getElementById("insert-user-task").addEventListener("click", insertUserTask);
  document.getElementById("check-bpmn").addEventListener("click", check);
  document.getElementById("deploy-bpmn").addEventListener("click", deploy);
  document.getElementById("download-bpmn").addEventListener("click", download);
  start().catch((err) => say("modeler-status", `The modeler could not start: ${err.message}`, true));
})();
