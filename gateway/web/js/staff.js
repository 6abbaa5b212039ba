// The staff console: sign-in with username and password, then pages by role —
// the window clerk's counter (check-in, call next, recall, served, no-show) and day;
// the reviewer's queue of pre-applications; card applications (reviewers decide those
// whose checks need a human, a clerk hands over the cards waiting at their office); the
// administrator's staff accounts, catalogue, slot publishing, suspensions, and policies
// with effective dates.
// Every call is to the public /v1 API.
// The staff token lives in memory only: a reload or a closed tab signs out, which
// suits a counter's shared computer (decision 50).
import { h, replace } from "./dom.js";
// The citizens' pages' words for what the two share (card statuses, delivery).
import { lang, setLang, t as citizenWords } from "./i18n.js";

const WORDS = {
  "zh-CN": {
    brand: "民通 · 工作人员", skip: "跳到正文", nav: "主导航", signIn: "工作人员登录", signOut: "退出",
    username: "用户名", password: "密码", day: "当日预约", office: "办理地点", date: "日期", show: "查看",
    time: "时间", business: "业务", citizen: "预约人", code: "确认码", status: "状态", actions: "操作",
    noShow: "记为未到", none: "这一天没有预约。", error: "未能完成", network: "网络异常，请稍后再试。",
    noOffice: "您的账号没有所属办理地点，请联系管理员。", signedInAs: (u, r) => `已登录：${u}（${r}）`,
    statuses: { confirmed: "已预约", cancelled: "已取消", checked_in: "已签到", lapsed: "已过期", no_show: "未到" },
    hall: "窗口叫号", counter: "窗口号", checkIn: "签到取号", checkInCode: "确认码或扫描二维码",
    checkInHelp: "输入预约确认码，或用扫码枪扫描市民的预约二维码。", checkInButton: "签到",
    walkIn: "现场取号（未预约）", walkInButton: "发放现场号", issued: (c, n) => `已发号 ${c}，前面还有 ${n} 人。`,
    again: (c) => `该预约已签到过，号码仍为 ${c}。`, atCounter: "本窗口", nobodyCalled: "本窗口当前没有叫号。",
    calling: (c) => `正在叫号：${c}`, callNext: "叫下一号", recall: "重呼", served: "办结", ticketNoShow: "未到（过号）",
    nobodyWaiting: "没有人在等候。", waiting: (n) => `等候 ${n} 人`, board: "打开大厅叫号屏",
    reviews: "预审队列", review: "审核", submittedAt: "提交时间", noReviews: "没有待审核的预审申请。",
    answers: "填写内容", attachments: "附件", noAttachments: "没有附件。", open: "查看", download: "下载",
    history: "处理记录", decision: "审核决定", noteLabel: "说明（驳回时写明原因，补充材料时写明所需材料）",
    approve: "通过", reject: "驳回", requestMaterial: "要求补充材料", decided: "已处理。", back: "返回队列",
    pa: { draft: "草稿", submitted: "待审核", more_material_needed: "待补充材料", approved: "已通过", rejected: "已驳回" },
    staff: "工作人员账号", displayName: "显示名", role: "角色", active: "启用", create: "新建账号",
    roles: { window_clerk: "窗口人员", reviewer: "审核人员", administrator: "管理员", sre: "运维" },
    save: "保存", disable: "停用", enable: "启用", created: (u) => `已新建账号 ${u}。`, saved: "已保存。",
    yes: "是", no: "否", catalogue: "业务目录", catalogueFile: "目录文件（YAML 或 JSON）", load: "导入",
    loaded: (c, o, b) => `已导入：城市 ${c}；办理地点 ${o} 个；业务 ${b} 个。`,
    slots: "发布号源", city: "城市", from: "从", to: "到", allOffices: "（全市所有办理地点）", publish: "发布",
    published: (c, u) => `新增号源 ${c} 个，更新 ${u} 个。`,
    suspensions: "业务暂停", announcement: "公告（中文）", announcementEn: "公告（英文，可不填）",
    suspend: "暂停", resume: "恢复", suspended: "暂停中", open_: "办理中",
    policies: "政策与闭馆", newPolicy: "新建政策", kind: "类型", subject: "内容", effectiveFrom: "生效时间",
    effectiveUntil: "失效时间", fromHelp: "北京时间；不填即刻生效。", untilHelp: "北京时间；不填则一直有效，直到手动结束。",
    noPolicies: "没有。", endPolicy: "结束", ended: "已结束该政策。", made: "已新建政策。", untilEnded: "直到结束",
    cancelledBookings: (n) => `已取消预约 ${n} 个`, policyStates: { scheduled: "待生效", in_force: "生效中", lapsed: "已失效" },
    kinds: { office_closure: "办理地点闭馆", business_suspension: "业务暂停（含公告）", destination_suspension: "暂停前往的目的地",
      entry_exit_reason: "紧急出入境事由", visit_requirements: "到场须知" },
    destination: "目的地（两位国家或地区代码，如 AU）", reasonCode: "事由代码（大写字母、数字、下划线，即预约时填的 reason_code）",
    reasonAllowed: "生效期间接受该事由（不勾选：不接受）", reasonName: "事由名称（中文）", reasonNameEn: "事由名称（英文，可不填）",
    evidence: "所需证明（中文，每行一项）", evidenceEn: "所需证明（英文，每行一项，可不填；填则与中文逐项对应）",
    requirements: "到场须知（中文，每行一项）", requirementsEn: "到场须知（英文，每行一项，可不填；填则与中文逐项对应）",
    closedFrom: "闭馆首日", closedTo: "闭馆末日", closedToHelp: "只闭馆一天时与首日相同。",
    closureReason: "闭馆原因（中文；告知每位被取消预约的市民）", closureReasonEn: "闭馆原因（英文，可不填）",
    cardApplications: "证件申请", noApplications: "没有证件申请。", rejectReason: "驳回原因（告知市民）",
    handedOver: "已交给市民", cardDecided: (s) => `已处理：${s}。`,
    createdBy: "创建人", period: "生效期间", closureHelp: "生效时会取消这些日期的全部预约，并通知每位市民一次；这些日期不再接受预约和候补。", notAccepted: "不接受",
  },
  en: {
    brand: "Mintong · Staff", skip: "Skip to content", nav: "Main", signIn: "Staff sign-in", signOut: "Sign out",
    username: "Username", password: "Password", day: "Bookings of the day", office: "Office", date: "Date", show: "Show",
    time: "Time", business: "Service", citizen: "Citizen", code: "Code", status: "Status", actions: "Actions",
    noShow: "Mark no-show", none: "No bookings on this day.", error: "Could not complete", network: "Network problem; try again shortly.",
    noOffice: "Your account has no office; ask an administrator.", signedInAs: (u, r) => `Signed in: ${u} (${r})`,
    statuses: { confirmed: "Confirmed", cancelled: "Cancelled", checked_in: "Checked in", lapsed: "Lapsed", no_show: "No-show" },
    hall: "Counter", counter: "Counter number", checkIn: "Check in", checkInCode: "Confirmation code or scanned QR code",
    checkInHelp: "Type the booking's confirmation code, or scan the citizen's QR code with the scanner.", checkInButton: "Check in",
    walkIn: "Walk-in ticket (no booking)", walkInButton: "Issue a walk-in ticket", issued: (c, n) => `Ticket ${c} issued; ${n} ahead.`,
    again: (c) => `This booking was checked in before: ticket ${c}.`, atCounter: "This counter", nobodyCalled: "No ticket is called to this counter.",
    calling: (c) => `Calling: ${c}`, callNext: "Call next", recall: "Call again", served: "Served", ticketNoShow: "Did not come",
    nobodyWaiting: "Nobody is waiting.", waiting: (n) => `${n} waiting`, board: "Open the hall's display board",
    reviews: "Review queue", review: "Review", submittedAt: "Submitted", noReviews: "No pre-application waits for review.",
    answers: "Answers", attachments: "Documents", noAttachments: "No documents.", open: "View", download: "Download",
    history: "History", decision: "Decision", noteLabel: "Note (the reason for a rejection; the material needed)",
    approve: "Approve", reject: "Reject", requestMaterial: "Ask for more material", decided: "Done.", back: "Back to the queue",
    pa: { draft: "Draft", submitted: "Submitted", more_material_needed: "Material requested", approved: "Approved", rejected: "Rejected" },
    staff: "Staff accounts", displayName: "Display name", role: "Role", active: "Active", create: "Create account",
    roles: { window_clerk: "Window clerk", reviewer: "Reviewer", administrator: "Administrator", sre: "SRE" },
    save: "Save", disable: "Disable", enable: "Enable", created: (u) => `Account ${u} created.`, saved: "Saved.",
    yes: "Yes", no: "No", catalogue: "Catalogue", catalogueFile: "Catalogue file (YAML or JSON)", load: "Load",
    loaded: (c, o, b) => `Loaded: cities ${c}; ${o} offices; ${b} services.`,
    slots: "Publish slots", city: "City", from: "From", to: "To", allOffices: "(every office of the city)", publish: "Publish",
    published: (c, u) => `${c} slots created, ${u} updated.`,
    suspensions: "Suspensions", announcement: "Announcement (Chinese)", announcementEn: "Announcement (English, optional)",
    suspend: "Suspend", resume: "Resume", suspended: "Suspended", open_: "Open",
    policies: "Policies and closures", newPolicy: "New policy", kind: "Kind", subject: "What", effectiveFrom: "In force from",
    effectiveUntil: "In force until", fromHelp: "Beijing time; empty: now.", untilHelp: "Beijing time; empty: until ended by hand.",
    noPolicies: "None.", endPolicy: "End", ended: "The policy is ended.", made: "Policy created.", untilEnded: "until ended",
    cancelledBookings: (n) => `${n} bookings cancelled`, policyStates: { scheduled: "Scheduled", in_force: "In force", lapsed: "Lapsed" },
    kinds: { office_closure: "Office closure", business_suspension: "Service suspension (with announcement)",
      destination_suspension: "Suspended destination", entry_exit_reason: "Emergency entry-exit reason", visit_requirements: "Visit requirements" },
    destination: "Destination (two-letter country or region code, e.g. AU)", reasonCode: "Reason code (capitals, digits, underscores: a booking's reason_code)",
    reasonAllowed: "Accepted while in force (unticked: refused)", reasonName: "Reason's name (Chinese)", reasonNameEn: "Reason's name (English, optional)",
    evidence: "Evidence to bring (Chinese, one per line)", evidenceEn: "Evidence (English, one per line, optional; if given, one per Chinese line)",
    requirements: "Visit requirements (Chinese, one per line)", requirementsEn: "Visit requirements (English, one per line, optional; if given, one per Chinese line)",
    closedFrom: "First closed day", closedTo: "Last closed day", closedToHelp: "The same as the first day for a one-day closure.",
    closureReason: "Reason (Chinese; told to each citizen whose booking is cancelled)", closureReasonEn: "Reason (English, optional)",
    cardApplications: "Card applications", noApplications: "No card applications.", rejectReason: "Reason for rejecting (told to the citizen)",
    handedOver: "Handed to the citizen", cardDecided: (s) => `Done: ${s}.`,
    createdBy: "Created by", period: "In force", closureHelp: "In force, it cancels every booking of these days and tells each citizen once; the days take no bookings or waitlist.", notAccepted: "refused",
  },
};
const t = (key, ...args) => {
  const value = WORDS[lang()][key];
  return typeof value === "function" ? value(...args) : value;
};

let session = null; // {token, username, role, office_id}

class Refusal extends Error {
  constructor(problem) {
    super(problem.detail || problem.title || "error");
    this.code = problem.code || "";
    this.field = problem.field || "";
    // Every field at fault (a policy may have several): shown next to each.
    this.errors = problem.errors || [];
  }
}

async function send(method, path, { body, query, raw, type } = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== "") url.searchParams.set(k, v);
  const headers = { "X-Mintong-Channel": "web", "Accept-Language": lang() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (raw !== undefined) headers["Content-Type"] = type;
  if (session) headers.Authorization = `Bearer ${session.token}`;
  const answer = await fetch(url, {
    method, headers, body: raw !== undefined ? raw : body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit", cache: "no-store",
  });
  if (!answer.ok) {
    const text = await answer.text();
    throw new Refusal(text ? JSON.parse(text) : {});
  }
  return answer;
}

async function call(method, path, options) {
  const text = await (await send(method, path, options)).text();
  return text ? JSON.parse(text) : {};
}

function notice(error) {
  return h("div", { class: "notice error", role: "alert", "data-code": error.code || "network" },
    h("h2", {}, t("error")), h("p", {}, error instanceof Refusal ? error.message : t("network")));
}

function done(text) {
  return h("div", { class: "notice ok", role: "status" }, h("p", {}, text));
}

function page(title, ...children) {
  document.title = `${title} · ${t("brand")}`;
  replace(document.getElementById("main"), h("h1", {}, title), ...children);
  document.getElementById("main").focus({ preventScroll: true });
  document.body.dataset.ready = title;
  document.body.dataset.view = location.hash || "#/";
}

/** A form's submit: the button held while the call is out, the outcome shown in ``into``. */
function onSubmit(form, into, work) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      await work(event.submitter);
    } catch (error) {
      replace(into, notice(error));
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  });
  return form;
}

const field = (id, label, input, help) => h("p", {}, h("label", { for: id }, label), input,
  help ? h("span", { class: "muted", id: `${id}-help` }, help) : null);

const table = (label, heads, rows) => h("div", { class: "table-scroll", role: "region", "aria-label": label, tabindex: "0" },
  h("table", {}, h("caption", { class: "visually-hidden" }, label),
    h("thead", {}, h("tr", {}, heads.map((c) => h("th", { scope: "col" }, c)))), h("tbody", {}, rows)));

const when = (iso) => (iso ? new Intl.DateTimeFormat(lang(), { dateStyle: "short", timeStyle: "short" }).format(new Date(iso)) : "");

// ---------------------------------------------------------------- chrome and sign-in

const VIEWS = {
  window_clerk: [["#/hall", "hall"], ["#/day", "day"], ["#/cards", "cardApplications"]],
  reviewer: [["#/reviews", "reviews"], ["#/cards", "cardApplications"]],
  administrator: [["#/staff", "staff"], ["#/catalogue", "catalogue"], ["#/slots", "slots"], ["#/suspensions", "suspensions"],
    ["#/policies", "policies"], ["#/reviews", "reviews"], ["#/cards", "cardApplications"], ["#/hall", "hall"], ["#/day", "day"]],
  sre: [],
};

function chrome() {
  document.documentElement.lang = lang();
  document.querySelector(".skip").textContent = t("skip");
  document.getElementById("brand").textContent = t("brand");
  document.getElementById("language").value = lang();
  const nav = document.getElementById("nav");
  nav.setAttribute("aria-label", t("nav"));
  if (!session) return replace(nav);
  const here = location.hash || "#/";
  const out = h("button", { type: "button", class: "secondary" }, t("signOut"));
  out.addEventListener("click", async () => {
    try { await call("POST", "/v1/staff/logout"); } catch { /* signed out here anyway */ }
    session = null;
    location.hash = "#/";
    render();
  });
  replace(nav, h("ul", {},
    (VIEWS[session.role] || []).map(([href, key]) => h("li", {}, h("a", { href, "aria-current": here === href ? "page" : false }, t(key)))),
    h("li", {}, t("signedInAs", session.username, t("roles")[session.role] || session.role)), h("li", {}, out)));
}

function signIn() {
  const username = h("input", { id: "username", autocomplete: "username", required: true, maxlength: 64 });
  const password = h("input", { id: "password", type: "password", autocomplete: "current-password", required: true });
  const note = h("div", {});
  const form = onSubmit(h("form", { novalidate: true },
    field("username", t("username"), username), field("password", t("password"), password),
    note, h("p", { class: "actions" }, h("button", { type: "submit", id: "staff-sign-in" }, t("signIn")))), note, async () => {
    const answer = await call("POST", "/v1/staff/token", { body: { username: username.value.trim(), password: password.value } });
    session = { token: answer.access_token, username: answer.username, role: answer.role, office_id: answer.office_id };
    const first = (VIEWS[session.role] || [])[0];
    if (first && location.hash !== first[0]) location.hash = first[0]; // hashchange renders
    else render();
  });
  page(t("signIn"), form);
}

// ---------------------------------------------------------------- window clerk: the day

function today() {
  // The bureau's cities are all on Beijing time.
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
}

async function day(date = today()) {
  if (!session.office_id) return page(t("day"), h("p", {}, t("noOffice")));
  const dateInput = h("input", { id: "date", type: "date", value: date });
  const form = h("form", { class: "actions" }, field("date", t("date"), dateInput), h("p", {}, h("button", { type: "submit" }, t("show"))));
  form.addEventListener("submit", (event) => { event.preventDefault(); day(dateInput.value).catch(failed); });
  const outcome = h("div", {});
  const { bookings } = await call("GET", `/v1/staff/offices/${encodeURIComponent(session.office_id)}/bookings`, { query: { date } });
  const rows = bookings.map((b) => {
    const cell = h("td", {});
    if (b.status === "confirmed") {
      const button = h("button", { type: "button", class: "secondary", "data-action": "no-show" }, t("noShow"));
      button.addEventListener("click", async () => {
        button.disabled = true;
        try { await call("POST", `/v1/staff/bookings/${b.id}/no-show`); await day(date); } catch (error) { replace(outcome, notice(error)); button.disabled = false; }
      });
      cell.append(button);
    }
    return h("tr", { "data-booking": b.id },
      h("td", {}, `${b.start}–${b.end}`), h("td", {}, b.snapshot.business_name), h("td", {}, b.citizen_masked_name || ""),
      h("td", { class: "code" }, b.confirmation_code), h("td", {}, WORDS[lang()].statuses[b.status] || b.status), cell);
  });
  page(`${t("day")} · ${session.office_id}`, form, outcome, rows.length
    ? table(`${t("day")} ${date}`, [t("time"), t("business"), t("citizen"), t("code"), t("status"), t("actions")], rows)
    : h("p", {}, t("none")));
}

// ---------------------------------------------------------------- window clerk: the counter

let myOffice = null; // the clerk's office as the catalogue has it: its city, walk-ins, businesses

async function officeOf(id) {
  if (myOffice?.id === id) return myOffice;
  const { cities } = await call("GET", "/v1/cities");
  for (const c of cities) {
    const { offices } = await call("GET", `/v1/cities/${encodeURIComponent(c.code)}/offices`);
    const found = offices.find((e) => e.office.id === id);
    if (found) return (myOffice = found.office);
  }
  return { id, city: "", walk_in_allowed: false, businesses: [] };
}

async function hall() {
  const office = session.office_id;
  if (!office) return page(t("hall"), h("p", {}, t("noOffice")));
  const here = await officeOf(office);
  const city = here.city;
  const { businesses } = here.walk_in_allowed
    ? await call("GET", `/v1/cities/${encodeURIComponent(city)}/businesses`) : { businesses: [] };
  const walkIns = businesses.filter((b) => here.businesses.includes(b.code));
  const base = `/v1/staff/offices/${encodeURIComponent(office)}`;
  // The counter's number belongs to the computer at it, not to the account.
  const counter = h("input", { id: "counter", type: "number", min: 1, max: 999, required: true,
    value: localStorage.getItem("mintong.counter") || "1", inputmode: "numeric" });
  counter.addEventListener("change", () => { localStorage.setItem("mintong.counter", counter.value); refresh(); });
  const number = () => Number(counter.value);

  // Check-in: a scanner types the QR code's payload and Enter, a clerk the code.
  const code = h("input", { id: "checkin-code", autocomplete: "off", maxlength: 200, required: true, "aria-describedby": "checkin-code-help" });
  const checkedIn = h("div", { id: "checkin-outcome" });
  const issue = async (body) => {
    const answer = await call("POST", `${base}/checkins`, { body });
    replace(checkedIn, done(answer.newly_issued ? t("issued", answer.ticket.code, answer.ticket.ahead) : t("again", answer.ticket.code)));
    checkedIn.firstChild.dataset.ticket = answer.ticket.code;
    code.value = "";
    await refresh();
  };
  const checkInForm = onSubmit(h("form", { novalidate: true, "aria-labelledby": "checkin-title" },
    h("h2", { id: "checkin-title" }, t("checkIn")),
    field("checkin-code", t("checkInCode"), code, t("checkInHelp")),
    h("p", { class: "actions" }, h("button", { type: "submit", id: "check-in" }, t("checkInButton")))), checkedIn, async () => {
    const value = code.value.trim();
    await issue(value.startsWith("MT1.") ? { qr_payload: value } : { code: value.toUpperCase() });
  });
  const walkInBusiness = h("select", { id: "walk-in-business" }, walkIns.map((b) => h("option", { value: b.code }, b.name)));
  const walkInForm = onSubmit(h("form", { "aria-labelledby": "walk-in-title" },
    h("h3", { id: "walk-in-title" }, t("walkIn")), field("walk-in-business", t("business"), walkInBusiness),
    h("p", { class: "actions" }, h("button", { type: "submit", class: "secondary", id: "walk-in" }, t("walkInButton")))), checkedIn,
  () => issue({ walk_in_business: walkInBusiness.value }));

  // The counter: what it calls now, and the four moves.
  const current = h("div", { id: "at-counter", "aria-live": "polite" });
  const counterOutcome = h("div", {});
  const waiting = h("p", { id: "waiting" });
  const refresh = async () => {
    const queue = await call("GET", `/v1/offices/${encodeURIComponent(office)}/queue`);
    const mine = queue.called.find((x) => x.counter === number());
    replace(current, mine
      ? h("p", { class: "calling", "data-calling": mine.code }, t("calling", mine.code))
      : h("p", { class: "muted" }, t("nobodyCalled")));
    replace(waiting, queue.waiting.length ? t("waiting", queue.waiting.length) : t("nobodyWaiting"));
  };
  const move = (id, label, path, secondary = true) => {
    const button = h("button", { type: "button", id, class: secondary ? "secondary" : "" }, label);
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const answer = await call("POST", `${base}/counters/${number()}/${path}`);
        replace(counterOutcome, answer.ticket ? done(`${label}: ${answer.ticket.code}`) : done(t("nobodyWaiting")));
        await refresh();
      } catch (error) {
        replace(counterOutcome, notice(error));
      } finally {
        button.disabled = false;
      }
    });
    return button;
  };
  await refresh();
  page(`${t("hall")} · ${office}`,
    h("div", { class: "columns" },
      h("section", { "aria-labelledby": "counter-title", class: "panel" },
        h("h2", { id: "counter-title" }, t("atCounter")),
        field("counter", t("counter"), counter),
        current, waiting,
        h("p", { class: "actions" }, move("call-next", t("callNext"), "call", false), move("recall", t("recall"), "recall"),
          move("served", t("served"), "served"), move("ticket-no-show", t("ticketNoShow"), "no-show")),
        counterOutcome,
        city ? h("p", {}, h("a", { href: `/board/#/${encodeURIComponent(city)}/${encodeURIComponent(office)}`, target: "_blank", rel: "noopener" }, t("board"))) : null),
      h("section", { class: "panel" }, checkInForm, checkedIn, walkIns.length ? walkInForm : null)));
}

// ---------------------------------------------------------------- reviewer

async function reviews() {
  const { pre_applications: queue } = await call("GET", "/v1/staff/pre-applications");
  page(t("reviews"), queue.length
    ? table(t("reviews"), [t("business"), t("submittedAt"), t("status"), t("actions")], queue.map((p) => h("tr", { "data-pre-application": p.id },
      h("td", {}, p.business), h("td", {}, when(p.submitted_at)), h("td", {}, t("pa")[p.status] || p.status),
      h("td", {}, h("a", { class: "button secondary", href: `#/review/${p.id}` }, `${t("review")} · ${p.business}`)))))
    : h("p", {}, t("noReviews")));
}

async function reviewOne(id) {
  const base = `/v1/staff/pre-applications/${encodeURIComponent(id)}`;
  const p = await call("GET", base);
  let labels = {};
  try {
    const form = await call("GET", `/v1/cities/${encodeURIComponent(p.city)}/businesses/${encodeURIComponent(p.business)}/pre-application-form`);
    labels = Object.fromEntries(form.fields.map((f) => [f.key, f.label]));
  } catch { /* the keys will do */ }
  const outcome = h("div", { id: "decision-outcome" });
  const note = h("textarea", { id: "decision-note", rows: 3, maxlength: 2000 });
  const preview = h("div", {});
  const decidable = p.status === "submitted";
  const decision = onSubmit(h("form", { novalidate: true, "aria-labelledby": "decision-title" },
    h("h2", { id: "decision-title" }, t("decision")),
    field("decision-note", t("noteLabel"), note),
    h("p", { class: "actions" },
      h("button", { type: "submit", id: "approve", value: "approve" }, t("approve")),
      h("button", { type: "submit", id: "reject", class: "secondary", value: "reject" }, t("reject")),
      h("button", { type: "submit", id: "request-material", class: "secondary", value: "request-material" }, t("requestMaterial")))),
  outcome, async (submitter) => {
    const action = submitter?.value || "approve";
    const body = action === "reject" ? { reason: note.value } : { note: note.value };
    const after = await call("POST", `${base}/${action}`, { body });
    await reviewOne(id);
    replace(document.getElementById("decision-outcome"), done(`${t("decided")} ${t("pa")[after.status] || after.status}`));
  });
  page(`${t("review")} · ${p.business}`,
    h("p", {}, h("a", { href: "#/reviews" }, t("back"))),
    h("p", {}, h("span", { class: "status-tag", "data-status": p.status }, t("pa")[p.status] || p.status), " ", p.note),
    h("h2", {}, t("answers")),
    h("dl", {}, Object.entries(p.answers).flatMap(([k, v]) => [h("dt", {}, labels[k] || k), h("dd", {}, v)])),
    h("h2", {}, t("attachments")),
    p.attachments.length ? h("ul", {}, p.attachments.map((a) => {
      const view = h("button", { type: "button", class: "secondary", "data-attachment": a.id }, `${t("open")} · ${a.label || a.media_type}`);
      view.addEventListener("click", async () => {
        try {
          // The document needs the staff token: fetched, then shown from memory.
          const blob = await (await send("GET", `${base}/attachments/${a.id}`)).blob();
          const url = URL.createObjectURL(blob);
          replace(preview, a.media_type.startsWith("image/")
            ? h("img", { src: url, alt: a.label || t("attachments"), class: "document" })
            : h("p", {}, h("a", { href: url, download: `${a.id}.pdf` }, `${t("download")} · ${a.label || "PDF"}`)));
        } catch (error) { replace(preview, notice(error)); }
      });
      return h("li", {}, view, ` ${a.media_type} · ${Math.ceil(a.size / 1024)} KB`);
    })) : h("p", {}, t("noAttachments")),
    preview,
    h("h2", {}, t("history")),
    h("ol", {}, p.history.map((x) => h("li", {}, `${when(x.at)} · ${t("pa")[x.new_status] || x.new_status}${x.note ? ` · ${x.note}` : ""}`))),
    decidable ? decision : null, outcome);
}

// ---------------------------------------------------------------- card applications

// Reviewers and administrators see a city's applications and decide those whose
// checks need a human (the kind's needs_review); a window clerk sees their office's
// and hands over a card waiting there. The citizen reads every move in their timeline.
async function cardApplications() {
  const clerk = session.role === "window_clerk";
  if (clerk && !session.office_id) return page(t("cardApplications"), h("p", {}, t("noOffice")));
  const outcome = h("div", { id: "cards-outcome" });
  const list = h("div", {});
  const city = h("select", { id: "cards-city" });
  const statusName = (status) => citizenWords("cardStatuses")[status] || status;
  const move = (a, action, label, body) => {
    const button = h("button", { type: "button", class: action === "approve" ? "" : "secondary", "data-action": action }, label);
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const after = await call("POST", `/v1/staff/card-applications/${encodeURIComponent(a.id)}/${action}`, { body: body?.() });
        await show();
        replace(outcome, done(t("cardDecided", statusName(after.status))));
      } catch (error) {
        replace(outcome, notice(error));
        button.disabled = false;
      }
    });
    return button;
  };
  const actions = (a) => {
    if (!clerk && a.needs_review && a.status === "checks_passed") {
      const reason = h("input", { id: `reason-${a.id}`, maxlength: 200, autocomplete: "off", placeholder: t("rejectReason"),
        "aria-label": `${t("rejectReason")} · ${a.kind}` });
      return [move(a, "approve", t("approve")), reason, move(a, "reject", t("reject"), () => ({ reason: reason.value.trim() }))];
    }
    if (a.status === "ready_for_pickup") return [move(a, "collected", t("handedOver"))];
    return [];
  };
  const row = (a) => {
    const d = a.delivery;
    const delivery = d.method === "mail"
      ? `${citizenWords("mail")} · ${d.recipient_masked} · ${d.address_masked}${d.tracking_number ? ` · ${d.tracking_number}` : ""}`
      : `${citizenWords("pickup")} · ${d.office_id}`;
    return h("tr", { "data-application": a.id, "data-status": a.status },
      h("td", {}, a.kind), h("td", {}, when(a.submitted_at)), h("td", {}, delivery),
      h("td", {}, h("span", { class: "status-tag", "data-status": a.status }, statusName(a.status))),
      h("td", {}, h("span", { class: "actions" }, ...actions(a))));
  };
  const show = async () => {
    const query = clerk ? { office_id: session.office_id } : { city: city.value };
    const { applications } = await call("GET", "/v1/staff/card-applications", { query });
    replace(list, applications.length
      ? table(t("cardApplications"), [t("kind"), t("submittedAt"), citizenWords("delivery"), t("status"), t("actions")], applications.map(row))
      : h("p", {}, t("noApplications")));
  };
  if (!clerk) {
    const { cities } = await call("GET", "/v1/cities");
    replace(city, cities.map((c) => h("option", { value: c.code }, c.name)));
    city.addEventListener("change", () => show().catch((error) => replace(outcome, notice(error))));
  }
  await show();
  page(t("cardApplications"), clerk ? null : field("cards-city", t("city"), city), outcome, list);
}

// ---------------------------------------------------------------- administrator

async function staffAccounts() {
  const { staff } = await call("GET", "/v1/admin/staff");
  const outcome = h("div", { id: "staff-outcome" });
  const roles = Object.keys(WORDS["zh-CN"].roles);
  const roleSelect = (id, value) => h("select", { id }, roles.map((r) => h("option", { value: r, selected: r === value }, t("roles")[r])));
  const rows = staff.map((m) => {
    const role = roleSelect(`role-${m.staff_id}`, m.role);
    const office = h("input", { id: `office-${m.staff_id}`, value: m.office_id || "", maxlength: 64, "aria-label": `${t("office")} ${m.username}` });
    role.setAttribute("aria-label", `${t("role")} ${m.username}`);
    const save = h("button", { type: "button", class: "secondary" }, t("save"));
    save.addEventListener("click", async () => {
      try {
        await call("PUT", `/v1/admin/staff/${m.staff_id}/role`, { body: { role: role.value, office_id: office.value.trim() || null } });
        replace(outcome, done(t("saved")));
      } catch (error) { replace(outcome, notice(error)); }
    });
    const toggle = h("button", { type: "button", class: "secondary", "data-action": m.active ? "disable" : "enable" }, m.active ? t("disable") : t("enable"));
    toggle.addEventListener("click", async () => {
      try { await call("PUT", `/v1/admin/staff/${m.staff_id}/active`, { body: { active: !m.active } }); await staffAccounts(); } catch (error) { replace(outcome, notice(error)); }
    });
    return h("tr", { "data-staff": m.username }, h("td", {}, m.username), h("td", {}, m.display_name), h("td", {}, role), h("td", {}, office),
      h("td", {}, m.active ? t("yes") : t("no")), h("td", {}, h("span", { class: "actions" }, save, toggle)));
  });
  const inputs = {
    username: h("input", { id: "new-username", required: true, maxlength: 64, autocomplete: "off" }),
    display_name: h("input", { id: "new-display-name", maxlength: 200, autocomplete: "off" }),
    role: roleSelect("new-role", "window_clerk"),
    office_id: h("input", { id: "new-office", maxlength: 64, autocomplete: "off" }),
    password: h("input", { id: "new-password", type: "password", minlength: 12, required: true, autocomplete: "new-password" }),
  };
  const create = onSubmit(h("form", { novalidate: true, "aria-labelledby": "create-title" },
    h("h2", { id: "create-title" }, t("create")),
    field("new-username", t("username"), inputs.username), field("new-display-name", t("displayName"), inputs.display_name),
    field("new-role", t("role"), inputs.role), field("new-office", t("office"), inputs.office_id),
    field("new-password", t("password"), inputs.password),
    h("p", { class: "actions" }, h("button", { type: "submit", id: "create-staff" }, t("create")))), outcome, async () => {
    const body = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.value.trim()]));
    body.password = inputs.password.value;
    if (!body.office_id) body.office_id = null;
    const made = await call("POST", "/v1/admin/staff", { body });
    await staffAccounts();
    replace(document.getElementById("staff-outcome"), done(t("created", made.username)));
  });
  page(t("staff"), outcome,
    table(t("staff"), [t("username"), t("displayName"), t("role"), t("office"), t("active"), t("actions")], rows), create);
}

async function catalogue() {
  const file = h("input", { id: "catalogue-file", type: "file", accept: ".yaml,.yml,.json,application/json,application/yaml", required: true });
  const outcome = h("div", { id: "catalogue-outcome" });
  page(t("catalogue"), onSubmit(h("form", { novalidate: true },
    field("catalogue-file", t("catalogueFile"), file),
    h("p", { class: "actions" }, h("button", { type: "submit", id: "load-catalogue" }, t("load")))), outcome, async () => {
    const chosen = file.files[0];
    if (!chosen) throw new Refusal({ detail: t("catalogueFile"), code: "file_required" });
    const type = chosen.name.endsWith(".json") ? "application/json" : "application/yaml";
    const answer = await call("PUT", "/v1/admin/catalogue", { raw: await chosen.arrayBuffer(), type });
    replace(outcome, done(t("loaded", answer.cities.join(", "), answer.office_count, answer.business_count)));
  }), outcome);
}

async function slots() {
  const { cities } = await call("GET", "/v1/cities");
  const city = h("select", { id: "slots-city" }, cities.map((c) => h("option", { value: c.code }, c.name)));
  const office = h("select", { id: "slots-office" });
  const fillOffices = async () => {
    const { offices } = await call("GET", `/v1/cities/${encodeURIComponent(city.value)}/offices`);
    replace(office, h("option", { value: "" }, t("allOffices")), offices.map((e) => h("option", { value: e.office.id }, e.office.name)));
  };
  city.addEventListener("change", () => fillOffices().catch(failed));
  await fillOffices();
  const from = h("input", { id: "slots-from", type: "date", value: today(), required: true });
  const to = h("input", { id: "slots-to", type: "date", value: today(), required: true });
  const outcome = h("div", { id: "slots-outcome" });
  page(t("slots"), onSubmit(h("form", { novalidate: true },
    field("slots-city", t("city"), city), field("slots-office", t("office"), office),
    field("slots-from", t("from"), from), field("slots-to", t("to"), to),
    h("p", { class: "actions" }, h("button", { type: "submit", id: "publish" }, t("publish")))), outcome, async () => {
    const body = office.value ? { office_id: office.value } : { city: city.value };
    const answer = await call("POST", "/v1/admin/slots/publish", { body: { ...body, from: from.value, to: to.value } });
    replace(outcome, done(t("published", answer.created, answer.updated)));
  }), outcome);
}

async function suspensions(chosen, changed = {}) {
  const { cities } = await call("GET", "/v1/cities");
  const code = chosen || cities[0]?.code || "";
  const city = h("select", { id: "suspend-city" }, cities.map((c) => h("option", { value: c.code, selected: c.code === code }, c.name)));
  city.addEventListener("change", () => { if (city.value !== code) suspensions(city.value).catch(failed); });
  // The list may be a few seconds old (cached): what was just changed is taken from
  // the change's own answer.
  const { businesses: listed } = await call("GET", `/v1/cities/${encodeURIComponent(code)}/businesses`);
  const businesses = listed.map((b) => changed[b.code] || b);
  const outcome = h("div", { id: "suspend-outcome" });
  const base = (b) => `/v1/admin/cities/${encodeURIComponent(code)}/businesses/${encodeURIComponent(b.code)}`;
  page(t("suspensions"), field("suspend-city", t("city"), city), outcome, h("ul", { class: "cards", "data-city": code }, businesses.map((b) => {
    const suspended = b.status === "suspended";
    if (suspended) {
      const resume = h("button", { type: "button", "data-action": "resume" }, `${t("resume")} · ${b.name}`);
      resume.addEventListener("click", async () => {
        try {
          await suspensions(code, { ...changed, [b.code]: await call("POST", `${base(b)}/resume`) });
        } catch (error) { replace(outcome, notice(error)); }
      });
      return h("li", { class: "card", "data-business": b.code }, h("h2", {}, b.name),
        h("p", { class: "notice warn" }, `${t("suspended")}: ${b.announcement}`), h("p", { class: "actions" }, resume));
    }
    const zh = h("textarea", { id: `announce-${b.code}`, rows: 2, maxlength: 2000, required: true });
    const en = h("textarea", { id: `announce-en-${b.code}`, rows: 2, maxlength: 2000 });
    return h("li", { class: "card", "data-business": b.code }, h("h2", {}, b.name), h("p", {}, t("open_")),
      onSubmit(h("form", { novalidate: true },
        field(`announce-${b.code}`, t("announcement"), zh), field(`announce-en-${b.code}`, t("announcementEn"), en),
        h("p", { class: "actions" }, h("button", { type: "submit", class: "secondary", "data-action": "suspend" }, `${t("suspend")} · ${b.name}`))),
      outcome, async () => {
        const after = await call("POST", `${base(b)}/suspend`, { body: { announcement: zh.value, announcement_en: en.value } });
        await suspensions(code, { ...changed, [b.code]: after });
      }));
  })));
}

// ---------------------------------------------------------------- administrator: policies

// Policies are rows with effective dates (decisions 59, 60): the page lists a city's
// by state, makes each kind and ends one. The bureau's cities are all on Beijing
// time, so the times typed and shown are Beijing's, whatever the computer's zone.
const beijing = (iso) => (iso
  ? new Intl.DateTimeFormat(lang(), { dateStyle: "medium", timeStyle: "short", timeZone: "Asia/Shanghai" }).format(new Date(iso))
  : "");
const fromLocal = (value) => (value ? `${value}:00+08:00` : undefined);
const lines = (text) => text.split("\n").map((x) => x.trim()).filter(Boolean);
const KINDS = ["office_closure", "business_suspension", "destination_suspension", "entry_exit_reason", "visit_requirements"];

/** The problem's message beside each field it names (``office_closure.from`` and
 * ``requirements[1]`` name the inputs ``from`` and ``requirements``), the input
 * marked invalid and described by it, and the first one focused. */
function markFields(form, error) {
  form.querySelectorAll(".field-error").forEach((e) => e.remove());
  form.querySelectorAll("[aria-invalid]").forEach((e) => {
    e.removeAttribute("aria-invalid");
    e.setAttribute("aria-describedby", e.dataset.help || "");
    if (!e.dataset.help) e.removeAttribute("aria-describedby");
  });
  if (!(error instanceof Refusal)) return;
  const faults = error.errors.length ? error.errors : error.field ? [{ field: error.field, message: error.message }] : [];
  let first = null;
  for (const fault of faults) {
    const name = fault.field.split(".").pop().replace(/\[\d+\]$/, "");
    const input = [...form.querySelectorAll(`[data-field="${CSS.escape(name)}"]`)].find((e) => !e.closest("[hidden]"));
    if (!input || input.getAttribute("aria-invalid")) continue;
    const message = h("span", { class: "field-error", id: `${input.id}-error`, "data-field-error": name }, fault.message);
    input.closest("p").append(message);
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", [input.dataset.help, message.id].filter(Boolean).join(" "));
    first = first || input;
  }
  first?.focus();
}

function policyField(id, name, label, input, help) {
  input.id = id;
  input.dataset.field = name;
  if (help) {
    input.dataset.help = `${id}-help`;
    input.setAttribute("aria-describedby", `${id}-help`);
  }
  return field(id, label, input, help);
}

function policySubject(p, names) {
  const d = p.details;
  switch (p.kind) {
    case "office_closure":
      return `${names.offices[d.office_id] || d.office_id} · ${d.from === d.to ? d.from : `${d.from} – ${d.to}`}${d.reason ? ` · ${lang() === "en" && d.reason_en ? d.reason_en : d.reason}` : ""}`;
    case "business_suspension":
      return `${names.businesses[d.business] || d.business} · ${lang() === "en" && d.announcement_en ? d.announcement_en : d.announcement}`;
    case "destination_suspension":
      return d.destination;
    case "entry_exit_reason":
      return `${d.code}${d.allowed ? "" : ` (${t("notAccepted")})`}${d.name ? ` · ${d.name}` : ""}${d.evidence.length ? ` · ${d.evidence.join("；")}` : ""}`;
    default:
      return `${names.offices[d.office_id] || d.office_id} · ${d.requirements.join("；")}`;
  }
}

let policyCity = ""; // the city last chosen, kept when the language changes

async function policies(chosen, message) {
  const { cities } = await call("GET", "/v1/cities");
  const code = [chosen, policyCity].find((c) => c && cities.some((x) => x.code === c)) || cities[0]?.code || "";
  policyCity = code;
  const city = h("select", { id: "policy-city" }, cities.map((c) => h("option", { value: c.code, selected: c.code === code }, c.name)));
  city.addEventListener("change", () => { if (city.value !== code) policies(city.value).catch(failed); });
  const q = encodeURIComponent(code);
  const [{ policies: all }, { offices }, { businesses }, { staff }] = await Promise.all([
    call("GET", `/v1/admin/cities/${q}/policies`), call("GET", `/v1/cities/${q}/offices`), call("GET", `/v1/cities/${q}/businesses`),
    call("GET", "/v1/admin/staff")]);
  const names = {
    offices: Object.fromEntries(offices.map((e) => [e.office.id, e.office.name])),
    businesses: Object.fromEntries(businesses.map((b) => [b.code, b.name])),
    staff: Object.fromEntries(staff.map((m) => [m.staff_id, m.username])),
  };
  // created_by is the caller as the audit chain spells it, "<role>:<staff id>".
  const maker = (by) => names.staff[(by.match(/^[a-z_]+:([^@]+)/) || [])[1]] || by;
  const outcome = h("div", { id: "policy-outcome" });
  if (message) replace(outcome, done(message));

  // The list, by state: what is coming, what holds now, what has lapsed.
  const sections = ["scheduled", "in_force", "lapsed"].map((state) => {
    const mine = all.filter((p) => p.state === state).reverse(); // newest first
    const title = `${t("policyStates")[state]}（${mine.length}）`;
    const rows = mine.map((p) => {
      const cell = h("td", {});
      if (state !== "lapsed") {
        const end = h("button", { type: "button", class: "secondary", "data-action": "end", "aria-describedby": `policy-${p.id}-kind` }, t("endPolicy"));
        end.addEventListener("click", async () => {
          end.disabled = true;
          try {
            await call("POST", `/v1/admin/policies/${encodeURIComponent(p.id)}/end`);
            await policies(code, t("ended"));
          } catch (error) { replace(outcome, notice(error)); end.disabled = false; }
        });
        cell.append(end);
      }
      return h("tr", { "data-policy": p.id, "data-kind": p.kind, "data-state": p.state },
        h("td", { id: `policy-${p.id}-kind` }, t("kinds")[p.kind] || p.kind),
        h("td", {}, policySubject(p, names),
          p.kind === "office_closure" ? h("span", { class: "muted", "data-cancelled": p.cancelled_bookings }, ` · ${t("cancelledBookings", p.cancelled_bookings)}`) : null),
        h("td", {}, `${beijing(p.effective_from)} – ${p.effective_until ? beijing(p.effective_until) : t("untilEnded")}`),
        h("td", {}, maker(p.created_by)), cell);
    });
    return h("section", { "aria-labelledby": `policies-${state}`, "data-policies": state },
      h("h2", { id: `policies-${state}` }, title),
      rows.length ? table(title, [t("kind"), t("subject"), t("period"), t("createdBy"), t("actions")], rows)
        : h("p", { class: "muted" }, t("noPolicies")));
  });

  // The new policy: the common period, then the chosen kind's own fields.
  const kind = h("select", {}, KINDS.map((k) => h("option", { value: k }, t("kinds")[k])));
  const area = (rows = 2) => h("textarea", { rows, maxlength: 2000 });
  const officeSelect = () => h("select", {}, offices.map((e) => h("option", { value: e.office.id }, e.office.name)));
  const inputs = {
    office_closure: {
      office_id: officeSelect(), from: h("input", { type: "date", value: today(), required: true }),
      to: h("input", { type: "date", value: today(), required: true }), reason: area(), reason_en: area(),
    },
    business_suspension: {
      business: h("select", {}, businesses.map((b) => h("option", { value: b.code }, b.name))),
      announcement: area(), announcement_en: area(),
    },
    destination_suspension: { destination: h("input", { maxlength: 2, autocomplete: "off", required: true, class: "short" }) },
    entry_exit_reason: {
      code: h("input", { maxlength: 64, autocomplete: "off", required: true }),
      allowed: h("input", { type: "checkbox", class: "check", checked: true }),
      name: h("input", { maxlength: 200, autocomplete: "off" }), name_en: h("input", { maxlength: 200, autocomplete: "off" }),
      evidence: area(3), evidence_en: area(3),
    },
    visit_requirements: { office_id: officeSelect(), requirements: area(4), requirements_en: area(4) },
  };
  const labels = {
    office_id: t("office"), from: t("closedFrom"), to: t("closedTo"), reason: t("closureReason"), reason_en: t("closureReasonEn"),
    business: t("business"), announcement: t("announcement"), announcement_en: t("announcementEn"), destination: t("destination"),
    code: t("reasonCode"), allowed: t("reasonAllowed"), name: t("reasonName"), name_en: t("reasonNameEn"), evidence: t("evidence"),
    evidence_en: t("evidenceEn"), requirements: t("requirements"), requirements_en: t("requirementsEn"),
  };
  const helps = { to: t("closedToHelp") };
  const fieldsets = Object.fromEntries(KINDS.map((k) => [k, h("fieldset", { "data-kind": k, hidden: k !== kind.value },
    h("legend", {}, t("kinds")[k]), k === "office_closure" ? h("p", { class: "muted" }, t("closureHelp")) : null,
    Object.entries(inputs[k]).map(([name, input]) => policyField(`policy-${k}-${name}`, name, labels[name], input, helps[name])))]));
  kind.addEventListener("change", () => {
    for (const [k, set] of Object.entries(fieldsets)) set.hidden = k !== kind.value;
  });
  const from = h("input", { type: "datetime-local" });
  const until = h("input", { type: "datetime-local" });
  const form = h("form", { novalidate: true, "aria-labelledby": "new-policy-title" },
    h("h2", { id: "new-policy-title" }, t("newPolicy")),
    policyField("policy-kind", "kind", t("kind"), kind),
    Object.values(fieldsets),
    policyField("policy-effective-from", "effective_from", t("effectiveFrom"), from, t("fromHelp")),
    policyField("policy-effective-until", "effective_until", t("effectiveUntil"), until, t("untilHelp")),
    h("p", { class: "actions" }, h("button", { type: "submit", id: "create-policy" }, t("newPolicy"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("#create-policy");
    button.disabled = true;
    try {
      const k = kind.value;
      const own = inputs[k];
      const value = (name) => own[name].value.trim();
      const body = { kind: k, effective_from: fromLocal(from.value), effective_until: fromLocal(until.value) };
      if (k === "office_closure") Object.assign(body, { office_id: own.office_id.value, from: own.from.value, to: own.to.value, reason: value("reason"), reason_en: value("reason_en") });
      else if (k === "business_suspension") Object.assign(body, { business: own.business.value, announcement: value("announcement"), announcement_en: value("announcement_en") });
      else if (k === "destination_suspension") body.destination = value("destination").toUpperCase();
      else if (k === "entry_exit_reason") {
        Object.assign(body, { code: value("code").toUpperCase(), allowed: own.allowed.checked, name: value("name"), name_en: value("name_en"),
          evidence: lines(own.evidence.value), evidence_en: lines(own.evidence_en.value) });
      } else Object.assign(body, { office_id: own.office_id.value, requirements: lines(own.requirements.value), requirements_en: lines(own.requirements_en.value) });
      const made = await call("POST", `/v1/admin/cities/${q}/policies`, { body });
      const cancelled = made.kind === "office_closure" && made.state === "in_force" ? ` ${t("cancelledBookings", made.cancelled_bookings)}` : "";
      await policies(code, `${t("made")}${cancelled}`);
    } catch (error) {
      replace(outcome, notice(error));
      markFields(form, error);
      button.disabled = false;
    }
  });
  page(t("policies"), field("policy-city", t("city"), city), outcome, ...sections, form);
}

// ---------------------------------------------------------------- routing

function failed(error) {
  page(t("error"), notice(error));
}

async function render() {
  chrome();
  if (!session) return signIn();
  const parts = (location.hash || "#/").slice(2).split("/").filter(Boolean).map(decodeURIComponent);
  const allowed = (VIEWS[session.role] || []).map(([href]) => href.slice(2));
  const view = allowed.includes(parts[0]) || (parts[0] === "review" && allowed.includes("reviews")) ? parts[0] : allowed[0];
  try {
    if (view === "hall") await hall();
    else if (view === "day") await day();
    else if (view === "reviews") await reviews();
    else if (view === "review") await reviewOne(parts[1]);
    else if (view === "cards") await cardApplications();
    else if (view === "staff") await staffAccounts();
    else if (view === "catalogue") await catalogue();
    else if (view === "slots") await slots();
    else if (view === "suspensions") await suspensions();
    else if (view === "policies") await policies();
    else page(t("brand"), h("p", {}, t("signedInAs", session.username, session.role)));
  } catch (error) {
    failed(error);
  }
}

document.getElementById("language").addEventListener("change", (event) => {
  setLang(event.target.value);
  render();
});
window.addEventListener("hashchange", render);
render();
