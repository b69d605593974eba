// Default intake packet editor: an ordered list of intake forms; reorder by drag and drop or with
// the up/down buttons (keyboard users), add and remove; saved through PUT /api/v1/settings/intake-packet
// (the intake forms permission alone, not the portal settings one).
(function () {
  "use strict";
  const root = document.getElementById("packet-page");
  if (!root) return;
  const { api, el, say } = window.Studio;
  const list = document.getElementById("packet");
  const add = document.getElementById("packet-add");
  let titles = {};
  let dragged = null;

  function keys() { return [...list.children].map((li) => li.dataset.key); }

  function move(li, delta) {
    const target = delta < 0 ? li.previousElementSibling : li.nextElementSibling;
    if (!target) return;
    if (delta < 0) list.insertBefore(li, target); else list.insertBefore(target, li);
    li.querySelector(delta < 0 ? ".up" : ".down").focus();
    say("packet-status", `${titles[li.dataset.key] || li.dataset.key} is now number ${keys().indexOf(li.dataset.key) + 1}. Save to keep it.`);
  }

  function item(key) {
    const name = titles[key] || key;
    const li = el("li", { draggable: "true", "data-key": key },
      el("span", { class: "title", text: `${name} (${key})` }),
      el("button", { type: "button", class: "secondary up", "aria-label": `Move ${name} up`, text: "↑", onclick: () => move(li, -1) }),
      el("button", { type: "button", class: "secondary down", "aria-label": `Move ${name} down`, text: "↓", onclick: () => move(li, 1) }),
      el("button", { type: "button", class: "secondary", "aria-label": `Remove ${name}`, text: "Remove",
        onclick: () => { li.remove(); say("packet-status", `${name} removed. Save to keep it.`); } }));
    li.addEventListener("dragstart", () => { dragged = li; li.classList.add("dragging"); });
    li.addEventListener("dragend", () => { li.classList.remove("dragging"); dragged = null; });
    li.addEventListener("dragover", (event) => {
      event.preventDefault();
      if (!dragged || dragged === li) return;
      const box = li.getBoundingClientRect();
      list.insertBefore(dragged, event.clientY < box.top + box.height / 2 ? li : li.nextSibling);
    });
    return li;
  }

  document.getElementById("packet-add-button").addEventListener("click", () => {
    if (!add.value) return;
    if (keys().includes(add.value)) { say("packet-status", "That form is already in the packet.", true); return; }
    list.append(item(add.value));
    say("packet-status", `${titles[add.value]} added at the end. Save to keep it.`);
  });

  document.getElementById("packet-save").addEventListener("click", async () => {
    const result = await api("PUT", "/api/v1/settings/intake-packet", { intake_packet: keys() });
    if (result.ok) say("packet-status", "The packet is saved. New invitations use it.");
    else say("packet-status", Object.values((result.error && result.error.details) || {}).flat().join(" ") ||
      (result.error && result.error.message) || "Not saved.", true);
  });

  async function start() {
    const [settings, forms] = await Promise.all([api("GET", "/api/v1/settings/intake-packet"), api("GET", "/api/v1/forms?kind=intake")]);
    if (!settings.ok) { say("packet-status", "You may not change the intake packet: ask your administrator for the permission “Create and edit intake forms and the default packet”.", true); return; }
    for (const f of forms.ok ? forms.data : []) {
      titles[f.key] = f.title;
      if (f.latest_version) add.append(el("option", { value: f.key, text: `${f.title} (${f.key})` }));
    }
    list.replaceChildren(...settings.data.intake_packet.map(item));
    root.dataset.ready = "true";
  }
  start();
})();
