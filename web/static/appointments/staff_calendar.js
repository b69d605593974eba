// Staff calendar: FullCalendar week view of /api/v1/appointments, drag or resize to reschedule.
// A refused move (slot taken, policy) is put back and the reason shown.
(function () {
  "use strict";
  var root = document.getElementById("svc-calendar");
  var status = document.getElementById("svc-calendar-status");
  if (!root) return;
  if (typeof FullCalendar === "undefined") {
    status.textContent = "The calendar library is not installed; use the list below.";
    return;
  }
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var staffId = root.getAttribute("data-staff-id");
  // The browser's own zone: named zones would need a FullCalendar time-zone plugin.
  var timeZone = "local";

  function say(text) { status.textContent = text; }

  function api(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: { "Accept": "application/json", "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: body ? JSON.stringify(body) : undefined
    }).then(function (resp) {
      return resp.json().then(function (data) {
        if (!resp.ok) throw new Error((data.error && data.error.message) || resp.statusText);
        return data;
      });
    });
  }

  var calendar = new FullCalendar.Calendar(root, {
    initialView: window.matchMedia("(max-width: 40rem)").matches ? "timeGridDay" : "timeGridWeek",
    timeZone: timeZone,
    nowIndicator: true,
    editable: true,
    eventDurationEditable: false,
    slotMinTime: "07:00:00",
    slotMaxTime: "21:00:00",
    headerToolbar: { left: "prev,next today", center: "title", right: "timeGridDay,timeGridWeek,listWeek" },
    // Words rather than FullCalendar's chevron icons: the icons are role="img" without a name (axe-core).
    buttonIcons: false,
    buttonText: { prev: "Previous", next: "Next" },
    events: function (info, success, failure) {
      var url = "/api/v1/appointments?upcoming=false&staff_id=" + encodeURIComponent(staffId) +
        "&from=" + encodeURIComponent(info.start.toISOString()) + "&to=" + encodeURIComponent(info.end.toISOString());
      api("GET", url).then(function (data) {
        success(data.items.map(function (a) {
          return {
            id: a.id, start: a.start, end: a.end,
            title: (a.status === "requested" ? "Request · " : "") + a.service_type + " · " + a.location,
            url: "/staff/clients/" + a.client_id + "/messages",
            classNames: ["svc-" + a.status]
          };
        }));
      }).catch(function (err) { say(err.message); failure(err); });
    },
    eventDrop: function (info) {
      say("Moving…");
      api("POST", "/api/v1/appointments/" + info.event.id + "/reschedule", { start: info.event.start.toISOString() })
        .then(function () { say("Moved to " + info.event.start.toLocaleString() + "."); })
        .catch(function (err) { info.revert(); say("Not moved: " + err.message); });
    }
  });
  calendar.render();
})();
