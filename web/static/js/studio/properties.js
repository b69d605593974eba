// The modeler's properties panel: reads and writes what Portico's engine needs on the selected element
// — a user task's formKey, a service task's operation, a timer's expression, the lane — as
// SpiffWorkflow extension elements (spiffworkflow.json describes them to bpmn-js's moddle).
(function () {
  "use strict";
  const TIMER_KINDS = ["timeDuration", "timeCycle", "timeDate"];

  function is(bo, type) { return bo && bo.$instanceOf && bo.$instanceOf(type); }

  function extension(bo, type) {
    const ext = bo.extensionElements;
    return ext && (ext.values || []).find((v) => v.$type === type);
  }

  function timerOf(bo) {
    return (bo.eventDefinitions || []).find((d) => is(d, "bpmn:TimerEventDefinition")) || null;
  }

  function laneContainer(bo) {
    const parent = bo.$parent;
    return parent && is(parent, "bpmn:Process") ? parent : null;
  }

  function lanesOf(process) {
    return process ? (process.laneSets || []).flatMap((set) => set.lanes || []) : [];
  }

  function kinds(bo) {
    return {
      user: is(bo, "bpmn:UserTask"),
      service: is(bo, "bpmn:ServiceTask"),
      timer: Boolean(timerOf(bo)),
      lane: is(bo, "bpmn:FlowNode") && Boolean(laneContainer(bo)),
    };
  }

  function read(bo) {
    const out = { id: bo.id, type: bo.$type.replace("bpmn:", ""), name: bo.name || "" };
    const props = extension(bo, "spiffworkflow:Properties");
    const prop = (name) => ((props && props.property) || []).find((p) => p.name === name);
    out.formKey = prop("formKey") ? prop("formKey").value : "";
    const op = extension(bo, "spiffworkflow:ServiceTaskOperator");
    out.operation = op ? op.id || "" : "";
    out.resultVariable = op ? op.resultVariable || "" : "";
    out.parameters = op && op.parameters ? (op.parameters.parameter || []).map((p) => `${p.id} = ${p.value}`).join("\n") : "";
    const timer = timerOf(bo);
    out.timerKind = "timeDuration";
    out.timer = "";
    if (timer) {
      const kind = TIMER_KINDS.find((k) => timer[k]);
      if (kind) { out.timerKind = kind; out.timer = timer[kind].body || ""; }
    }
    const lane = lanesOf(laneContainer(bo)).find((l) => (l.flowNodeRef || []).includes(bo));
    out.lane = lane ? (lane.name || "").toLowerCase() : "";
    return out;
  }

  function ensureExtensions(moddle, bo) {
    if (!bo.extensionElements) bo.extensionElements = moddle.create("bpmn:ExtensionElements", { values: [] });
    bo.extensionElements.values = bo.extensionElements.values || [];
    return bo.extensionElements;
  }

  function setProperty(moddle, bo, name, value) {
    const ext = ensureExtensions(moddle, bo);
    let props = extension(bo, "spiffworkflow:Properties");
    if (!props) {
      props = moddle.create("spiffworkflow:Properties", { property: [] });
      ext.values.push(props);
    }
    props.property = (props.property || []).filter((p) => p.name !== name);
    if (value) props.property.push(moddle.create("spiffworkflow:Property", { name, value }));
    if (!props.property.length) ext.values = ext.values.filter((v) => v !== props);
  }

  function setOperation(moddle, bo, values) {
    const ext = ensureExtensions(moddle, bo);
    ext.values = ext.values.filter((v) => v.$type !== "spiffworkflow:ServiceTaskOperator");
    if (!values.operation) return;
    const params = values.parameters.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
      const at = line.indexOf("=");
      const id = (at < 0 ? line : line.slice(0, at)).trim();
      const value = at < 0 ? id : line.slice(at + 1).trim();
      return moddle.create("spiffworkflow:Parameter", { id, type: "any", value });
    });
    const op = moddle.create("spiffworkflow:ServiceTaskOperator", { id: values.operation });
    if (values.resultVariable) op.resultVariable = values.resultVariable;
    op.parameters = moddle.create("spiffworkflow:Parameters", { parameter: params });
    ext.values.push(op);
  }

  function setTimer(moddle, bo, kind, expression) {
    const timer = timerOf(bo);
    for (const k of TIMER_KINDS) delete timer[k];
    if (expression) timer[kind] = moddle.create("bpmn:FormalExpression", { body: expression });
  }

  function setLane(moddle, bo, name) {
    const process = laneContainer(bo);
    if (!process) return;
    const lanes = lanesOf(process);
    for (const lane of lanes) lane.flowNodeRef = (lane.flowNodeRef || []).filter((ref) => ref !== bo);
    if (!name) return;
    let lane = lanes.find((l) => (l.name || "").toLowerCase() === name);
    if (!lane) {
      if (!process.laneSets || !process.laneSets.length) {
        process.laneSets = [moddle.create("bpmn:LaneSet", { id: `${process.id}_lanes`, lanes: [] })];
        process.laneSets[0].$parent = process;
      }
      const set = process.laneSets[0];
      lane = moddle.create("bpmn:Lane", { id: `lane_${name}`, name, flowNodeRef: [] });
      lane.$parent = set;
      set.lanes = set.lanes || [];
      set.lanes.push(lane);
    }
    lane.flowNodeRef = lane.flowNodeRef || [];
    lane.flowNodeRef.push(bo);
  }

  // Write `values` onto the element; through `modeling` so the change is undoable and re-rendered.
  function apply(modeler, element, values) {
    const moddle = modeler.get("moddle");
    const modeling = modeler.get("modeling");
    const bo = element.businessObject;
    const k = kinds(bo);
    if (k.user) setProperty(moddle, bo, "formKey", values.formKey);
    if (k.service) setOperation(moddle, bo, values);
    if (k.timer) setTimer(moddle, bo, values.timerKind, values.timer);
    if (k.lane) setLane(moddle, bo, values.lane);
    const update = { name: values.name || undefined };
    if (bo.extensionElements) {
      update.extensionElements = bo.extensionElements.values.length ? bo.extensionElements : undefined;
    }
    modeling.updateProperties(element, update);
  }

  // Timers as people choose them ("every 2 days, 3 times") and as SpiffWorkflow reads them: a Python
  // string holding an ISO-8601 duration ("P2D"), cycle ("R3/P2D") or date. Only whole single-unit
  // durations round-trip through the picker; anything else stays an expression for power users.
  const UNIT_WORDS = { M: ["minute", "minutes"], H: ["hour", "hours"], D: ["day", "days"], W: ["week", "weeks"] };

  function isoDuration(count, unit) {
    return unit === "M" || unit === "H" ? `PT${count}${unit}` : `P${count}${unit}`;
  }

  function timerExpression(kind, picked) {
    if (kind === "timeDate") return picked.date ? JSON.stringify(picked.date.length === 16 ? `${picked.date}:00` : picked.date) : "";
    const count = parseInt(picked.count, 10);
    if (!(count > 0) || !UNIT_WORDS[picked.unit]) return "";
    const duration = isoDuration(count, picked.unit);
    if (kind === "timeDuration") return JSON.stringify(duration);
    const times = parseInt(picked.times, 10);
    return JSON.stringify(`R${times > 0 ? times : ""}/${duration}`);
  }

  // The picker's values for an expression, or null when the picker cannot show it.
  function parseTimer(kind, expression) {
    const quoted = /^\s*(["'])(.*)\1\s*$/.exec(expression || "");
    if (!quoted) return null;
    const text = quoted[2].trim();
    if (kind === "timeDate") return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(text) ? { date: text.slice(0, 16) } : null;
    const m = /^(?:R(\d*)\/)?P(?:(\d+)([DW])|T(\d+)([HM]))$/.exec(text);
    if (!m || (kind === "timeDuration" && text.startsWith("R"))) return null;
    return { times: m[1] || "", count: m[2] || m[4], unit: m[3] || m[5] };
  }

  function describeTimer(kind, picked) {
    if (kind === "timeDate") return picked.date ? `Fires once, on ${picked.date.replace("T", " at ")}.` : "";
    const count = parseInt(picked.count, 10);
    if (!(count > 0) || !UNIT_WORDS[picked.unit]) return "";
    const span = `${count} ${UNIT_WORDS[picked.unit][count === 1 ? 0 : 1]}`;
    if (kind === "timeDuration") return `Fires once, ${span} after the process gets here.`;
    const times = parseInt(picked.times, 10);
    return `Fires every ${span}` + (times > 0 ? `, ${times} time${times === 1 ? "" : "s"}.` : ", for as long as the process waits here.");
  }

  // "send_invitation" → "Send invitation": how a key reads in a list of choices.
  function words(key) {
    const text = String(key || "").replace(/[_.-]+/g, " ").trim();
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  window.StudioProperties = { read, apply, kinds, timerExpression, parseTimer, describeTimer, words };
})();
