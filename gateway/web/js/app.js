// The citizens' web platform: one page, views chosen by the URL's fragment, every
// call to the public /v1 API (api.js). No account data ever goes into a URL.
import { ApiError, call, forgetTokens, keepTokens, setLanguage, signedIn } from "./api.js";
import { h, replace } from "./dom.js";
import { lang, nextStep, setLang, t } from "./i18n.js";
import { qrCanvas } from "./qr.js";

const main = () => document.getElementById("main");
const POLL_MS = 1500; // the slot week follows vacancy changes within 2 s
let poller = null;
let cities = null;
let afterSignIn = "#/bookings";
let rescheduling = null; // the booking being moved, while its new slot is chosen

// ---------------------------------------------------------------- helpers

function uuid() {
  // Not crypto.randomUUID: it exists only in secure contexts.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function announce(text) {
  document.getElementById("status").textContent = text;
}

function dayLabel(date) {
  return new Intl.DateTimeFormat(lang(), { weekday: "short", month: "numeric", day: "numeric", timeZone: "UTC" })
    .format(new Date(`${date}T00:00:00Z`));
}

function when(x) {
  return `${dayLabel(x.date)} ${x.start}–${x.end}`;
}

async function loadCities() {
  if (!cities) cities = (await call("GET", "/v1/cities", { anonymous: true })).cities;
  return cities;
}

function chosenCity() {
  return localStorage.getItem("mintong.city") || "";
}

/** A refusal: the API's message, what to do next, and any extra way forward. */
function problemNotice(error, ...extras) {
  if (!(error instanceof ApiError)) {
    return h("div", { class: "notice error", role: "alert" }, h("p", {}, t("networkError")));
  }
  return h(
    "div",
    { class: "notice error", role: "alert", "data-code": error.code },
    h("h2", {}, t("error")),
    h("p", {}, error.message),
    h("p", {}, nextStep(error.code)),
    ...extras,
  );
}

function page(title, ...children) {
  document.title = `${title} · ${t("brand")}`;
  replace(main(), h("h1", {}, title), ...children);
}

function busy(button, work) {
  return async (event) => {
    event?.preventDefault();
    if (button.disabled) return; // a double click books once
    button.disabled = true;
    try {
      await work();
    } finally {
      button.disabled = false;
    }
  };
}

function requireSignIn(back) {
  if (signedIn()) return true;
  afterSignIn = back;
  location.hash = "#/signin";
  return false;
}

// ---------------------------------------------------------------- chrome

function renderChrome() {
  document.documentElement.lang = lang();
  document.querySelector(".skip").textContent = t("skip");
  document.getElementById("brand").textContent = t("brand");
  const here = location.hash || "#/";
  const link = (href, text) =>
    h("li", {}, h("a", { href, "aria-current": here === href ? "page" : false }, text));
  const items = [link("#/", t("home")), link("#/bookings", t("bookings")), link("#/waitlist", t("waitlist")),
    link("#/messages", t("messages")), link("#/pre-applications", t("preApplications")), link("#/cards", t("cards"))];
  if (signedIn()) {
    const out = h("button", { class: "secondary", type: "button" }, t("signOut"));
    out.addEventListener("click", busy(out, async () => {
      try { await call("POST", "/v1/auth/logout"); } catch { /* the session ends here anyway */ }
      forgetTokens();
      location.hash = "#/";
      route();
    }));
    items.push(h("li", {}, out));
  } else {
    items.push(link("#/signin", t("signIn")));
  }
  const nav = document.getElementById("nav");
  nav.setAttribute("aria-label", t("nav"));
  replace(nav, h("ul", {}, items));
  document.getElementById("language").value = lang();
}

// ---------------------------------------------------------------- views

async function home() {
  const list = await loadCities();
  const city = chosenCity() || list[0]?.code || "";
  const select = h("select", { id: "city" }, list.map((c) => h("option", { value: c.code, selected: c.code === city }, c.name)));
  select.addEventListener("change", () => {
    localStorage.setItem("mintong.city", select.value);
    route();
  });
  const { businesses } = await call("GET", `/v1/cities/${encodeURIComponent(city)}/businesses`, { anonymous: true });
  page(
    t("home"),
    h("p", {}, h("label", { for: "city" }, t("chooseCity")), select),
    h("h2", {}, t("businesses")),
    h("ul", { class: "cards two" }, businesses.map((b) => businessCard(city, b))),
  );
}

function businessCard(city, b) {
  const suspended = b.status === "suspended";
  return h(
    "li",
    { class: "card", "data-business": b.code },
    h("h3", {}, b.name),
    suspended ? h("p", { class: "notice warn" }, `${t("suspended")}: ${b.announcement}`) : null,
    h("details", {}, h("summary", {}, t("guide")), h("p", {}, b.service_guide)),
    b.materials.length ? h("details", {}, h("summary", {}, t("materials")), h("ul", {}, b.materials.map((m) => h("li", {}, m)))) : null,
    h("p", {}, `${t("phone")}: `, h("a", { href: `tel:${b.phone}` }, b.phone)),
    b.requires_pre_application && !suspended
      ? h("p", {}, h("a", { href: "#/pre-applications" }, t("startPre", b.name))) : null,
    suspended ? null : b.offered_on_this_channel
      ? h("p", { class: "actions" }, h("a", { class: "button", href: `#/city/${city}/business/${b.code}` }, `${t("book")} · ${b.name}`))
      : h("p", { class: "muted" }, t("notOnWeb")),
  );
}

async function offices(city, business, near) {
  const query = { business, ...(near || {}) };
  const { offices: entries } = await call("GET", `/v1/cities/${city}/offices`, { query, anonymous: true });
  const nearButton = h("button", { type: "button", class: "secondary" }, t("nearMe"));
  const where = h("div", {});
  const noPosition = () => replace(where, h("p", { class: "notice warn", role: "alert" }, t("noPosition")));
  nearButton.addEventListener("click", () => {
    if (!navigator.geolocation) return noPosition();
    navigator.geolocation.getCurrentPosition(
      (p) => offices(city, business, { lat: p.coords.latitude.toFixed(4), lng: p.coords.longitude.toFixed(4) }).catch(showError),
      noPosition,
      { timeout: 10000 },
    );
  });
  page(
    t("offices"),
    h("p", { class: "actions" }, nearButton),
    where,
    h("ul", { class: "cards" }, entries.map((e) => h(
      "li", { class: "card", "data-office": e.office.id },
      h("h2", {}, e.office.name),
      h("p", { class: "muted" }, e.office.address),
      e.distance_km !== null ? h("p", {}, `${t("distance")}: ${e.distance_km.toFixed(1)} ${t("km")}`) : null,
      h("p", {}, `${t("phone")}: `, h("a", { href: `tel:${e.office.phone}` }, e.office.phone)),
      h("p", {}, e.earliest_available_slot ? `${t("earliest")}: ${when(e.earliest_available_slot)}` : t("noVacancy")),
      h("p", { class: "actions" }, h("a", { class: "button", href: `#/city/${city}/business/${business}/office/${e.office.id}` },
        `${t("chooseTime")} · ${e.office.name}`)),
    ))),
  );
}

async function week(city, business, office) {
  const path = `/v1/offices/${encodeURIComponent(office)}/slots`;
  const load = async () => (await call("GET", path, { query: { business }, anonymous: true })).slots;
  let slots = await load();
  const outcome = h("div", { id: "outcome" });
  const grid = h("div", { class: "week" });
  const buttons = new Map();

  // The week as seven day buttons with their free places, then the chosen day's slots:
  // a phone shows one day at a time instead of a hundred buttons.
  let shown = null;
  const dayButtons = new Map();
  const byDay = () => {
    const days = new Map();
    for (const slot of slots) (days.get(slot.date) || days.set(slot.date, []).get(slot.date)).push(slot);
    return days;
  };
  const dayText = (date, daySlots) => {
    const free = daySlots.reduce((n, s) => n + Math.max(0, s.remaining), 0);
    return `${dayLabel(date)} · ${free ? t("remaining", free) : t("full")}`;
  };
  const draw = () => {
    buttons.clear();
    dayButtons.clear();
    const days = byDay();
    if (!days.has(shown)) shown = [...days].find(([, d]) => d.some((s) => s.remaining > 0))?.[0] ?? [...days.keys()][0];
    const bar = h("ul", { class: "days", "aria-label": t("chooseDay") }, [...days].map(([date, daySlots]) => {
      const button = h("button", { type: "button", class: "secondary", "data-day": date, "aria-pressed": String(date === shown) },
        dayText(date, daySlots));
      button.addEventListener("click", () => { shown = date; draw(); dayButtons.get(date)?.focus(); });
      dayButtons.set(date, button);
      return h("li", {}, button);
    }));
    const daySlots = days.get(shown) || [];
    replace(grid, bar, shown ? h(
      "section", { class: "day", "aria-labelledby": "day-title" },
      h("h2", { id: "day-title" }, dayLabel(shown)),
      h("ul", { class: "slots" }, daySlots.map((slot) => {
        const button = h("button", { type: "button", "data-slot": slot.id });
        button.addEventListener("click", () => choose(slot.id));
        buttons.set(slot.id, button);
        paint(button, slot);
        return h("li", {}, button);
      })),
    ) : h("p", {}, t("noVacancy")));
  };
  const paint = (button, slot) => {
    const full = slot.remaining <= 0;
    button.className = full ? "secondary full" : "";
    // What the text says, for a test or benchmark that should not read the language.
    button.dataset.remaining = String(slot.remaining);
    button.textContent = `${slot.start}–${slot.end} · ${full ? t("full") : t("remaining", slot.remaining)}`;
  };
  // The next free places after the refused one (then any before it), the nearest first.
  const freeOthers = (refused) => {
    const key = (s) => `${s.date} ${s.start}`;
    const free = slots.filter((s) => s.remaining > 0 && s.id !== refused.id);
    const after = free.filter((s) => key(s) > key(refused));
    return [...after, ...free.filter((s) => key(s) <= key(refused))].slice(0, 5);
  };

  const choose = (slotId) => {
    const slot = slots.find((s) => s.id === slotId);
    if (rescheduling) return confirmReschedule(slot);
    if (!requireSignIn(location.hash)) return;
    // One key per attempt: a double click or a retry after a lost answer sends the
    // same key, so the booking is made at most once.
    const key = uuid();
    const go = h("button", { type: "button", id: "confirm" }, t("confirm"));
    const again = h("button", { type: "button", class: "secondary" }, t("cancelChoice"));
    again.addEventListener("click", () => replace(outcome));
    go.addEventListener("click", busy(go, async () => {
      try {
        const booking = await call("POST", "/v1/bookings", {
          body: { slot_id: slot.id, business, pre_application_id: preApplicationFor[business] },
          headers: { "Idempotency-Key": key },
        });
        showBooked(booking);
      } catch (error) {
        if (!(error instanceof ApiError)) {
          replace(outcome, problemNotice(error), h("p", { class: "actions" }, go)); // same key on retry
          return;
        }
        refused(error, slot);
      }
    }));
    replace(outcome, h("section", { class: "notice ok", "aria-labelledby": "confirm-title" },
      h("h2", { id: "confirm-title" }, t("confirmTitle")), h("p", {}, when(slot)), h("p", { class: "actions" }, go, again)));
    go.focus();
  };

  const refused = async (error, slot) => {
    const extras = [];
    if (error.code === "slot_full") {
      const join = h("button", { type: "button", id: "join-waitlist" }, t("joinWaitlist"));
      join.addEventListener("click", busy(join, async () => {
        try {
          await call("POST", "/v1/waitlist", { body: { business, slot_id: slot.id } });
          replace(outcome, h("div", { class: "notice ok", role: "status" }, h("p", {}, t("waitlistJoined")),
            h("p", {}, h("a", { href: "#/waitlist" }, t("waitlist")))));
        } catch (e) { replace(outcome, problemNotice(e)); }
      }));
      extras.push(h("p", { class: "actions" }, join));
      const others = freeOthers(slot);
      if (others.length) {
        extras.push(h("h3", {}, t("nextFree")), h("ul", { class: "slots" }, others.map((s) => {
          const b = h("button", { type: "button", class: "secondary" }, when(s));
          b.addEventListener("click", () => choose(s.id));
          return h("li", {}, b);
        })));
      }
    } else if (error.code === "one_active_booking") {
      extras.push(h("p", {}, h("a", { href: "#/bookings" }, t("existingBooking"))));
    } else if (error.code === "business_suspended") {
      const { businesses } = await call("GET", `/v1/cities/${city}/businesses`, { anonymous: true });
      const found = businesses.find((b) => b.code === business);
      if (found?.announcement) extras.push(h("p", { class: "notice warn" }, found.announcement));
    }
    replace(outcome, problemNotice(error, ...extras));
    outcome.querySelector("[role=alert]")?.focus?.();
  };

  const confirmReschedule = (slot) => {
    const booking = rescheduling;
    const go = h("button", { type: "button", id: "confirm" }, `${t("reschedule")} · ${when(slot)}`);
    go.addEventListener("click", busy(go, async () => {
      try {
        const moved = await call("POST", `/v1/bookings/${booking.id}/reschedule`, { body: { slot_id: slot.id } });
        rescheduling = null;
        announce(t("rescheduled"));
        showBooked(moved);
      } catch (error) {
        refused(error, slot);
      }
    }));
    replace(outcome, h("section", { class: "notice ok" }, h("h2", {}, t("rescheduleTitle")), h("p", {}, when(slot)),
      h("p", { class: "actions" }, go)));
    go.focus();
  };

  const showBooked = (booking) => {
    replace(outcome, h("section", { class: "notice ok", role: "status" }, h("h2", {}, t("booked")), bookingDetails(booking)));
    refresh();
  };

  const refresh = async () => {
    try {
      const fresh = await load();
      const same = fresh.length === slots.length && fresh.every((s, i) => s.id === slots[i].id);
      slots = fresh;
      if (!same) return draw();
      for (const slot of slots) if (buttons.has(slot.id)) paint(buttons.get(slot.id), slot);
      for (const [date, daySlots] of byDay()) if (dayButtons.has(date)) dayButtons.get(date).textContent = dayText(date, daySlots);
    } catch { /* the next round tries again */ }
  };

  draw();
  page(rescheduling ? t("rescheduleTitle") : t("week"), h("p", { class: "muted" }, t("autoUpdate")), outcome, grid);
  poller = setInterval(() => { if (document.visibilityState === "visible") refresh(); }, POLL_MS);
}

function bookingDetails(b) {
  return h("div", { class: "booking", "data-booking": b.id },
    h("dl", {},
      h("dt", {}, t("business")), h("dd", {}, b.snapshot.business_name),
      h("dt", {}, t("office")), h("dd", {}, `${b.snapshot.office_name} · ${b.snapshot.office_address}`),
      h("dt", {}, t("time")), h("dd", { class: "when" }, when(b)),
      h("dt", {}, t("status")), h("dd", {}, h("span", { class: "status-tag", "data-status": b.status }, t("statuses")[b.status] || b.status)),
      h("dt", {}, t("confirmationCode")), h("dd", { class: "code" }, b.confirmation_code),
    ),
    b.status === "confirmed" && b.qr_payload
      ? h("figure", {}, qrCanvas(b.qr_payload, t("qrLabel", b.confirmation_code)), h("figcaption", {}, t("showQr")))
      : null,
  );
}

async function signIn() {
  const idNumber = h("input", { id: "id-number", name: "id_number", autocomplete: "off", inputmode: "text", required: true, maxlength: 18 });
  const name = h("input", { id: "name", name: "name", autocomplete: "name", required: true, maxlength: 64 });
  const code = h("input", { id: "code", name: "code", autocomplete: "one-time-code", inputmode: "numeric", maxlength: 6 });
  const note = h("div", {});
  const ask = h("button", { type: "button", id: "ask-code", class: "secondary" }, t("askCode"));
  const submit = h("button", { type: "submit", id: "sign-in" }, t("signIn"));
  ask.addEventListener("click", busy(ask, async () => {
    try {
      const sent = await call("POST", "/v1/auth/otp", { body: { id_number: idNumber.value.trim(), name: name.value.trim() }, anonymous: true });
      replace(note, h("p", { class: "notice ok", role: "status" }, t("codeSent", sent.resend_after_seconds)));
      code.focus();
    } catch (error) { replace(note, problemNotice(error)); }
  }));
  const form = h("form", { novalidate: true },
    h("p", {}, h("label", { for: "id-number" }, t("idNumber")), idNumber),
    h("p", {}, h("label", { for: "name" }, t("name")), name),
    h("p", { class: "actions" }, ask),
    h("p", {}, h("label", { for: "code" }, t("code")), code),
    note,
    h("p", { class: "actions" }, submit));
  form.addEventListener("submit", busy(submit, async () => {
    try {
      keepTokens(await call("POST", "/v1/auth/token", {
        body: { id_number: idNumber.value.trim(), name: name.value.trim(), code: code.value.trim() }, anonymous: true,
      }));
      const back = afterSignIn;
      afterSignIn = "#/bookings";
      if (location.hash === back) route(); else location.hash = back;
    } catch (error) { replace(note, problemNotice(error)); }
  }));
  page(t("signInTitle"), form);
}

async function bookings() {
  if (!requireSignIn("#/bookings")) return;
  const [{ bookings: mine }, list] = await Promise.all([call("GET", "/v1/bookings"), loadCities()]);
  const outcome = h("div", {});
  const cutoffOf = (city) => list.find((c) => c.code === city)?.booking_policy?.cancel_cutoff_minutes ?? 0;
  page(t("bookings"), outcome, mine.length ? h("ul", { class: "cards" }, mine.map((b) => {
    const actions = [];
    if (b.status === "confirmed") {
      const cancel = h("button", { type: "button", class: "secondary", "data-action": "cancel" }, t("cancel"));
      cancel.addEventListener("click", busy(cancel, async () => {
        try {
          await call("POST", `/v1/bookings/${b.id}/cancel`);
          await bookings();
          announce(t("cancelled"));
        } catch (error) { replace(outcome, problemNotice(error)); }
      }));
      const move = h("button", { type: "button", class: "secondary", "data-action": "reschedule" }, t("reschedule"));
      move.addEventListener("click", () => {
        rescheduling = b;
        location.hash = `#/city/${b.city}/business/${b.business}/office/${b.office_id}`;
      });
      actions.push(h("p", { class: "muted" }, t("cutoff", cutoffOf(b.city))), h("p", { class: "actions" }, move, cancel));
    }
    return h("li", { class: "card" }, h("h2", {}, `${b.snapshot.business_name} · ${when(b)}`), bookingDetails(b), ...actions);
  })) : h("p", {}, t("noBookings")));
}

async function waitlist() {
  if (!requireSignIn("#/waitlist")) return;
  const { entries } = await call("GET", "/v1/waitlist");
  const outcome = h("div", {});
  page(t("waitlist"), outcome, entries.length ? h("ul", { class: "cards" }, entries.map((e) => {
    const actions = [];
    if (e.status === "offered") {
      const take = h("button", { type: "button", "data-action": "confirm-offer" }, t("confirmOffer"));
      take.addEventListener("click", busy(take, async () => {
        try {
          const booking = await call("POST", `/v1/waitlist/${e.id}/confirm`);
          replace(outcome, h("section", { class: "notice ok", role: "status" }, h("h2", {}, t("booked")), bookingDetails(booking)));
        } catch (error) { replace(outcome, problemNotice(error)); }
      }));
      const until = new Intl.DateTimeFormat(lang(), { dateStyle: "short", timeStyle: "short" }).format(new Date(e.hold_expires_at));
      actions.push(h("p", {}, t("holdUntil", until)), h("p", { class: "actions" }, take));
    }
    if (e.status === "waiting" || e.status === "offered") {
      const leave = h("button", { type: "button", class: "secondary", "data-action": "leave" }, t("leave"));
      leave.addEventListener("click", busy(leave, async () => {
        try { await call("POST", `/v1/waitlist/${e.id}/leave`); await waitlist(); } catch (error) { replace(outcome, problemNotice(error)); }
      }));
      actions.push(h("p", { class: "actions" }, leave));
    }
    return h("li", { class: "card", "data-entry": e.id, "data-status": e.status },
      h("h2", {}, e.business),
      h("p", {}, h("span", { class: "status-tag" }, t("statuses")[e.status] || e.status), " ",
        e.position ? t("position", e.position) : ""),
      ...actions);
  })) : h("p", {}, t("noEntries")));
}

async function messages() {
  if (!requireSignIn("#/messages")) return;
  const { messages: inbox } = await call("GET", "/v1/me/messages");
  page(t("messages"), inbox.length ? h("ul", { class: "cards" }, inbox.map((m) => {
    const read = h("button", { type: "button", class: "secondary" }, t("markRead"));
    read.addEventListener("click", busy(read, async () => {
      await call("POST", `/v1/me/messages/${m.id}/read`);
      await messages();
    }));
    return h("li", { class: m.read ? "card" : "card unread", "data-template": m.template, "data-message": m.id },
      h("h2", {}, m.title), h("p", {}, m.body),
      h("p", { class: "muted" }, new Intl.DateTimeFormat(lang(), { dateStyle: "short", timeStyle: "short" }).format(new Date(m.created_at))),
      m.read ? h("p", { class: "muted" }, t("read")) : h("p", { class: "actions" }, read));
  })) : h("p", {}, t("noMessages")));
}


// ---------------------------------------------------------------- pre-applications

const stamp = (iso) => new Intl.DateTimeFormat(lang(), { dateStyle: "short", timeStyle: "short" }).format(new Date(iso));
let preApplicationFor = {}; // business → an approved pre-application's id, used when booking it

async function preApplications() {
  if (!requireSignIn("#/pre-applications")) return;
  const [{ pre_applications: mine }, list] = await Promise.all([call("GET", "/v1/pre-applications"), loadCities()]);
  const city = chosenCity() || list[0]?.code || "";
  const { businesses } = await call("GET", `/v1/cities/${encodeURIComponent(city)}/businesses`, { anonymous: true });
  const names = Object.fromEntries(businesses.map((b) => [b.code, b.name]));
  const needing = businesses.filter((b) => b.requires_pre_application && b.status === "active");
  const outcome = h("div", {});
  const start = (b) => {
    const button = h("button", { type: "button", class: "secondary", "data-start": b.code }, t("startPre", b.name));
    button.addEventListener("click", busy(button, async () => {
      try {
        const made = await call("POST", "/v1/pre-applications", { body: { city, business: b.code } });
        location.hash = `#/pre-application/${made.id}`;
      } catch (error) { replace(outcome, problemNotice(error)); }
    }));
    return button;
  };
  page(t("preApplications"), outcome,
    needing.length ? h("section", { "aria-labelledby": "new-pre" }, h("h2", { id: "new-pre" }, t("newPre")),
      h("p", { class: "actions" }, needing.map(start))) : null,
    mine.length ? h("ul", { class: "cards" }, mine.map((p) => h("li", { class: "card", "data-pre-application": p.id, "data-status": p.status },
      h("h2", {}, names[p.business] || p.business),
      h("p", {}, h("span", { class: "status-tag" }, t("paStatuses")[p.status] || p.status), " ", p.note),
      h("p", {}, h("a", { href: `#/pre-application/${p.id}` }, `${t("show")} · ${names[p.business] || p.business}`)))))
      : h("p", {}, t("noPre")));
}

async function preApplication(id) {
  if (!requireSignIn(`#/pre-application/${id}`)) return;
  const path = `/v1/pre-applications/${encodeURIComponent(id)}`;
  const p = await call("GET", path);
  const form = await call("GET", `/v1/cities/${encodeURIComponent(p.city)}/businesses/${encodeURIComponent(p.business)}/pre-application-form`, { anonymous: true });
  const editable = p.status === "draft" || p.status === "more_material_needed";
  const outcome = h("div", { id: "pre-outcome" });
  const inputs = {};
  const fieldOf = (f) => {
    const id = `answer-${f.key}`;
    const value = p.answers[f.key] || "";
    const common = { id, name: f.key, required: f.required, disabled: !editable, "aria-describedby": f.help ? `${id}-help` : false };
    let input;
    if (f.type === "choice") {
      input = h("select", common, h("option", { value: "" }, t("choose")),
        f.choices.map((c) => h("option", { value: c.code, selected: c.code === value }, c.label)));
    } else if (f.type === "long_text") {
      input = h("textarea", { ...common, rows: 3, maxlength: f.max_length || false });
      input.value = value;
    } else {
      input = h("input", { ...common, value, type: f.type === "date" ? "date" : "text",
        inputmode: f.type === "number" ? "numeric" : false, maxlength: f.max_length || false });
    }
    inputs[f.key] = input;
    return h("p", {}, h("label", { for: id }, f.label, f.required ? " *" : ""), input,
      f.help ? h("span", { class: "muted", id: `${id}-help` }, f.help) : null);
  };
  const save = h("button", { type: "submit", id: "save-answers", class: "secondary" }, t("save"));
  const answers = h("form", { novalidate: true }, form.fields.map(fieldOf), editable ? h("p", { class: "actions" }, save) : null);
  const saveAnswers = async () => {
    const body = Object.fromEntries(Object.entries(inputs).map(([k, input]) => [k, input.value.trim()]));
    await call("PATCH", path, { body: { answers: body } });
  };
  answers.addEventListener("submit", busy(save, async () => {
    try { await saveAnswers(); replace(outcome, h("p", { class: "notice ok", role: "status" }, t("saved"))); } catch (error) { replace(outcome, problemNotice(error)); }
  }));
  const file = h("input", { id: "attachment-file", type: "file", accept: "image/jpeg,image/png,application/pdf" });
  const label = h("input", { id: "attachment-label", maxlength: 200 });
  const attach = h("button", { type: "button", id: "attach", class: "secondary" }, t("attach"));
  attach.addEventListener("click", busy(attach, async () => {
    const chosen = file.files[0];
    if (!chosen) return;
    try {
      await saveAnswers(); // the view is drawn again: what was typed is kept first
      await call("POST", `${path}/attachments`, { raw: await chosen.arrayBuffer(), query: { label: label.value.trim() },
        headers: { "Content-Type": chosen.type || "application/octet-stream" } });
      await preApplication(id);
      announce(t("attached"));
    } catch (error) { replace(outcome, problemNotice(error)); }
  }));
  const submit = h("button", { type: "button", id: "submit-pre" }, p.status === "more_material_needed" ? t("resubmit") : t("submitPre"));
  submit.addEventListener("click", busy(submit, async () => {
    try {
      await saveAnswers();
      await call("POST", `${path}/submit`);
      await preApplication(id);
      replace(document.getElementById("pre-outcome"), h("p", { class: "notice ok", role: "status" }, t("preSubmitted")));
    } catch (error) { replace(outcome, problemNotice(error)); }
  }));
  const approved = p.status === "approved" && p.entitlement && !p.entitlement.booking_id;
  if (approved) preApplicationFor[p.business] = p.id;
  page(form.business_name,
    h("p", {}, h("span", { class: "status-tag", "data-status": p.status }, t("paStatuses")[p.status] || p.status)),
    p.note && p.status === "more_material_needed" ? h("div", { class: "notice warn", role: "alert" }, h("h2", {}, t("requested")), h("p", {}, p.note)) : null,
    p.note && p.status === "rejected" ? h("div", { class: "notice error" }, h("h2", {}, t("reason")), h("p", {}, p.note)) : null,
    approved ? h("div", { class: "notice ok" }, h("p", {}, t("approvedBook")),
      h("p", {}, h("a", { class: "button", href: `#/city/${p.city}/business/${p.business}` }, t("bookNow")))) : null,
    outcome,
    answers,
    h("h2", {}, t("attachmentsHelp")),
    h("p", { class: "muted" }, form.attachments_help),
    p.attachments.length ? h("ul", {}, p.attachments.map((a) => h("li", { "data-attachment": a.id }, `${a.label || a.media_type} · ${Math.ceil(a.size / 1024)} KB`))) : null,
    editable ? h("div", { class: "card" },
      h("p", {}, h("label", { for: "attachment-label" }, t("attachLabel")), label),
      h("p", {}, h("label", { for: "attachment-file" }, t("attachFile")), file),
      h("p", { class: "actions" }, attach)) : null,
    editable ? h("p", { class: "actions" }, submit) : null,
    h("h2", {}, t("history")),
    h("ol", { class: "timeline" }, p.history.map((x) => h("li", {}, `${stamp(x.at)} · ${t("paStatuses")[x.new_status] || x.new_status}${x.note ? ` · ${x.note}` : ""}`))),
  );
}

// ---------------------------------------------------------------- card applications

function application(a) {
  const d = a.delivery;
  return h("li", { class: "card", "data-application": a.id, "data-status": a.status },
    h("h2", {}, `${a.kind} · ${t("cardStatuses")[a.status] || a.status}`),
    a.reasons.length ? h("ul", {}, a.reasons.map((r) => h("li", { "data-reason": r.code }, r.message))) : null,
    h("dl", {},
      h("dt", {}, t("delivery")), h("dd", {}, d.method === "mail" ? `${t("mail")} · ${d.recipient_masked} · ${d.address_masked}` : `${t("pickup")} · ${d.office_id}`),
      d.tracking_number ? [h("dt", {}, t("tracking")), h("dd", { class: "tracking" }, d.tracking_number)] : null),
    h("h3", {}, t("timeline")),
    h("ol", { class: "timeline" }, a.timeline.map((s) => h("li", { "data-step": s.to_status },
      `${stamp(s.at)} · ${t("cardStatuses")[s.to_status] || s.to_status}${s.reason ? ` · ${s.reason}` : ""}`))));
}

async function cards() {
  if (!requireSignIn("#/cards")) return;
  const [{ kinds }, { applications }] = await Promise.all([call("GET", "/v1/card-applications/kinds"), call("GET", "/v1/card-applications")]);
  const kind = h("select", { id: "kind" }, kinds.map((k) => h("option", { value: k.code }, k.name)));
  const appearance = h("input", { id: "appearance", type: "checkbox", class: "check" });
  const answer = h("div", { id: "eligibility" });
  const check = h("button", { type: "submit", id: "check-eligibility" }, t("checkEligibility"));
  const form = h("form", { novalidate: true },
    h("p", {}, h("label", { for: "kind" }, t("kind")), kind),
    h("p", { class: "inline" }, appearance, h("label", { for: "appearance" }, t("appearance"))),
    h("p", { class: "actions" }, check));
  form.addEventListener("submit", busy(check, async () => {
    try {
      const e = await call("GET", "/v1/card-applications/eligibility", { query: { kind: kind.value, appearance_unchanged: appearance.checked } });
      replace(answer, e.eligible ? await applyForm(e, appearance.checked) : refusedCard(e));
    } catch (error) { replace(answer, problemNotice(error)); }
  }));
  page(t("cards"), form, answer,
    h("h2", {}, t("myCards")),
    applications.length ? h("ul", { class: "cards", id: "applications" }, applications.map(application)) : h("p", {}, t("noCards")));
}

function refusedCard(e) {
  const city = chosenCity() || "";
  return h("div", { class: "notice warn", "data-eligible": "false" },
    h("p", {}, t("notEligible")),
    h("ul", {}, e.reasons.map((r) => h("li", { "data-reason": r.code }, r.message))),
    e.alternatives.length ? [h("p", {}, t("alternatives")), h("ul", {}, e.alternatives.map((o) => h("li", { "data-office": o.office_id },
      `${o.name} · ${o.address}${o.earliest_date ? ` · ${t("earliestAt", `${dayLabel(o.earliest_date)} ${o.earliest_start || ""}`)}` : ""} `,
      city ? h("a", { href: `#/city/${city}/business/${e.window_business}/office/${o.office_id}` }, `${t("bookWindow")} · ${o.name}`) : null)))] : null);
}

async function applyForm(e, appearanceUnchanged) {
  const key = uuid(); // one application per form, however often it is sent
  const methods = e.kind.delivery_options;
  const outcome = h("div", {});
  const method = h("select", { id: "delivery-method" }, methods.map((m) => h("option", { value: m }, t(m))));
  const recipient = h("input", { id: "recipient", autocomplete: "name", maxlength: 50 });
  const phone = h("input", { id: "recipient-phone", autocomplete: "tel", inputmode: "tel", maxlength: 32 });
  const address = h("input", { id: "address", autocomplete: "street-address", maxlength: 200 });
  const list = await loadCities();
  const city = chosenCity() || list[0]?.code || "";
  const { offices: entries } = await call("GET", `/v1/cities/${encodeURIComponent(city)}/offices`, { anonymous: true });
  const office = h("select", { id: "pickup-office" }, entries.map((x) => h("option", { value: x.office.id }, x.office.name)));
  const mail = h("div", {}, h("p", {}, h("label", { for: "recipient" }, t("recipient")), recipient),
    h("p", {}, h("label", { for: "recipient-phone" }, t("recipientPhone")), phone),
    h("p", {}, h("label", { for: "address" }, t("address")), address));
  const pickup = h("p", {}, h("label", { for: "pickup-office" }, t("pickupOffice")), office);
  const shown = () => { mail.hidden = method.value !== "mail"; pickup.hidden = method.value !== "pickup"; };
  method.addEventListener("change", shown);
  shown();
  const go = h("button", { type: "submit", id: "apply" }, t("apply"));
  const form = h("form", { novalidate: true, "data-eligible": "true" },
    h("p", { class: "notice ok" }, `${t("eligible")} ${t("fee", (e.kind.fee_cents / 100).toFixed(2))}`),
    e.kind.materials.length ? h("ul", {}, e.kind.materials.map((m) => h("li", {}, m))) : null,
    h("p", {}, h("label", { for: "delivery-method" }, t("delivery")), method), mail, pickup, outcome, h("p", { class: "actions" }, go));
  form.addEventListener("submit", busy(go, async () => {
    const delivery = method.value === "mail"
      ? { method: "mail", recipient: recipient.value.trim(), phone: phone.value.trim(), address: address.value.trim() }
      : { method: "pickup", office_id: office.value };
    try {
      await call("POST", "/v1/card-applications", { body: { kind: e.kind.code, appearance_unchanged: appearanceUnchanged, delivery },
        headers: { "Idempotency-Key": key } });
      await cards();
      announce(t("applied"));
    } catch (error) { replace(outcome, problemNotice(error)); }
  }));
  return form;
}

// ---------------------------------------------------------------- routing

function showError(error) {
  if (error instanceof ApiError && (error.code === "unauthenticated" || error.code === "token_invalid")) {
    forgetTokens();
    afterSignIn = location.hash;
    location.hash = "#/signin";
    return;
  }
  page(t("error"), problemNotice(error));
}

async function route() {
  clearInterval(poller);
  poller = null;
  renderChrome();
  const parts = (location.hash || "#/").slice(2).split("/").filter(Boolean).map(decodeURIComponent);
  try {
    if (parts[0] === "city" && parts[2] === "business" && parts[4] === "office") await week(parts[1], parts[3], parts[5]);
    else if (parts[0] === "city" && parts[2] === "business") await offices(parts[1], parts[3]);
    else if (parts[0] === "signin") await signIn();
    else if (parts[0] === "bookings") await bookings();
    else if (parts[0] === "waitlist") await waitlist();
    else if (parts[0] === "messages") await messages();
    else if (parts[0] === "pre-applications") await preApplications();
    else if (parts[0] === "pre-application") await preApplication(parts[1]);
    else if (parts[0] === "cards") await cards();
    else await home();
  } catch (error) {
    showError(error);
  }
  // Focus moves to the new view (screen readers hear it) without scrolling past the header.
  main().focus({ preventScroll: true });
  window.scrollTo(0, 0);
  document.body.dataset.ready = location.hash || "#/";
}

setLanguage(lang());
document.getElementById("language").addEventListener("change", (event) => {
  setLang(event.target.value);
  setLanguage(lang());
  route();
});
window.addEventListener("hashchange", route);
route();
