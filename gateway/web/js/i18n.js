// The pages' own words in zh-CN (default) and English; the API's texts come in the
// language sent as Accept-Language.

const WORDS = {
  "zh-CN": {
    skip: "跳到正文", brand: "民通 · 公安便民服务", nav: "主导航", home: "办事",
    bookings: "我的预约", waitlist: "我的候补", messages: "我的消息", signIn: "登录", signOut: "退出",
    loading: "正在加载…", chooseCity: "选择城市", city: "城市", businesses: "可预约的业务",
    guide: "办事指南", materials: "所需材料", phone: "咨询电话", book: "预约",
    suspended: "暂停办理", notOnWeb: "本业务不能在网上预约。", offices: "办理地点",
    earliest: "最早可约", noVacancy: "近期无空余号源", nearMe: "按我的位置排序", noPosition: "无法获取您的位置，请从下面的列表中选择办理地点。",
    distance: "距离", km: "公里", chooseTime: "选择时间", week: "一周号源", chooseDay: "选择日期",
    remaining: (n) => `余 ${n} 个`, full: "已满", autoUpdate: "号源每隔数秒自动更新。",
    confirmTitle: "确认预约", confirm: "确认预约", cancelChoice: "重新选择",
    booked: "预约成功", confirmationCode: "确认码", showQr: "到大厅时出示此二维码",
    qrLabel: (code) => `预约二维码，确认码 ${code}`,
    idNumber: "身份证号码", name: "姓名", askCode: "获取短信验证码", code: "短信验证码",
    codeSent: (s) => `验证码已发送到您登记的手机号，${s} 秒后可重新获取。`,
    signInTitle: "短信验证码登录", signedInAs: "已登录",
    noBookings: "还没有预约。", cancel: "取消预约", reschedule: "改约",
    cutoff: (m) => `预约时间前 ${m} 分钟内不能取消或改约。`,
    cancelled: "预约已取消。", rescheduled: "已改约。", rescheduleTitle: "选择新的时间",
    status: "状态", date: "日期", time: "时间", office: "地点", business: "业务",
    statuses: { confirmed: "已预约", cancelled: "已取消", checked_in: "已签到", lapsed: "已过期", no_show: "未到", expired: "已过期",
      waiting: "排队中", offered: "已为您保留名额", booked: "已预约", left: "已退出" },
    joinWaitlist: "加入候补", waitlistJoined: "已加入候补。有名额空出时会为您保留并通知您。",
    position: (n) => `排第 ${n} 位`, confirmOffer: "确认预约保留的名额",
    holdUntil: (t) => `请在 ${t} 前确认。`, leave: "退出候补", noEntries: "没有候补。",
    noMessages: "没有消息。", markRead: "标为已读", read: "已读",
    nextFree: "其他可约时间", existingBooking: "查看我已有的预约",
    whatNext: {
      slot_full: "这个时段刚约满。可以加入候补，或选择下面其他时间。",
      one_active_booking: "同一业务只能有一个有效预约。可以改约或取消已有的预约。",
      business_suspended: "该业务暂停办理，请留意公告。",
      cancellation_cutoff_passed: "已过取消截止时间，如不能到场请联系办理地点。",
      vacancy_available: "这个时段还有名额，可以直接预约。",
      already_waiting: "您已在候补中。",
      hold_expired: "保留的名额已过期，请重新预约或候补。",
      unauthenticated: "请先登录。", token_invalid: "请重新登录。",
      code_invalid: "请核对短信验证码后再试。",
      outside_booking_horizon: "只能预约开放期内的时段。",
      not_yet_released: "号源尚未放出，请在放号时间后再试。",
      pre_application_required: "该业务需先提交网上预审，审核通过后再预约。",
      pre_application_not_approved: "网上预审尚未通过，通过后会通知您预约。",
      service_unavailable: "服务暂时不可用，请稍后再试。", overloaded: "当前访问人数较多，请稍后再试。",
      default: "请检查后再试；如仍有问题，请拨打咨询电话。",
    },
    error: "未能完成", networkError: "网络异常，请检查网络后再试（不会重复预约）。",
  },
  en: {
    skip: "Skip to content", brand: "Mintong · Police citizen services", nav: "Main", home: "Services",
    bookings: "My bookings", waitlist: "My waitlist", messages: "My messages", signIn: "Sign in", signOut: "Sign out",
    loading: "Loading…", chooseCity: "Choose a city", city: "City", businesses: "Services you can book",
    guide: "Guide", materials: "Materials", phone: "Phone", book: "Book",
    suspended: "Suspended", notOnWeb: "This service cannot be booked online.", offices: "Where",
    earliest: "Earliest vacancy", noVacancy: "No vacancy soon", nearMe: "Nearest to me first", noPosition: "Your position is not available; choose an office from the list below.",
    distance: "Distance", km: "km", chooseTime: "Choose a time", week: "This week's places", chooseDay: "Choose a day",
    remaining: (n) => `${n} left`, full: "Full", autoUpdate: "Places update every few seconds.",
    confirmTitle: "Confirm your booking", confirm: "Confirm booking", cancelChoice: "Choose again",
    booked: "Booked", confirmationCode: "Confirmation code", showQr: "Show this QR code at the hall",
    qrLabel: (code) => `Booking QR code, confirmation code ${code}`,
    idNumber: "ID number", name: "Name", askCode: "Send me a code by SMS", code: "SMS code",
    codeSent: (s) => `A code was sent to your registered phone; you can ask again in ${s} s.`,
    signInTitle: "Sign in with an SMS code", signedInAs: "Signed in",
    noBookings: "No bookings yet.", cancel: "Cancel booking", reschedule: "Reschedule",
    cutoff: (m) => `Cancelling or moving is possible until ${m} minutes before the appointment.`,
    cancelled: "Booking cancelled.", rescheduled: "Booking moved.", rescheduleTitle: "Choose a new time",
    status: "Status", date: "Date", time: "Time", office: "Where", business: "Service",
    statuses: { confirmed: "Confirmed", cancelled: "Cancelled", checked_in: "Checked in", lapsed: "Lapsed", no_show: "No-show", expired: "Expired",
      waiting: "Waiting", offered: "A place is held for you", booked: "Booked", left: "Left" },
    joinWaitlist: "Join the waitlist", waitlistJoined: "You are on the waitlist. When a place frees up it is held for you and you are told.",
    position: (n) => `Number ${n} in line`, confirmOffer: "Book the held place",
    holdUntil: (t) => `Confirm before ${t}.`, leave: "Leave the waitlist", noEntries: "No waitlist entries.",
    noMessages: "No messages.", markRead: "Mark read", read: "Read",
    nextFree: "Other free times", existingBooking: "See my existing booking",
    whatNext: {
      slot_full: "This time has just filled up. Join the waitlist, or pick another time below.",
      one_active_booking: "You can have one active booking per service. Reschedule or cancel the one you have.",
      business_suspended: "This service is suspended; see the announcement.",
      cancellation_cutoff_passed: "The cancellation cut-off has passed; if you cannot come, call the office.",
      vacancy_available: "This time still has places: book it directly.",
      already_waiting: "You are already on the waitlist.",
      hold_expired: "The held place has expired; book again or rejoin the waitlist.",
      unauthenticated: "Please sign in first.", token_invalid: "Please sign in again.",
      code_invalid: "Check the SMS code and try again.",
      outside_booking_horizon: "Only times within the booking window can be booked.",
      not_yet_released: "These places are not released yet; try again after the release time.",
      pre_application_required: "This service needs an online pre-application first; book once it is approved.",
      pre_application_not_approved: "Your pre-application is not approved yet; you will be told when you can book.",
      service_unavailable: "The service is unavailable; try again shortly.", overloaded: "Many people are using the service; try again shortly.",
      default: "Check and try again; if it keeps failing, call the phone number shown.",
    },
    error: "Could not complete", networkError: "Network problem: check your connection and try again (it will not book twice).",
  },
};

let current = localStorage.getItem("mintong.language") === "en" ? "en" : "zh-CN";

export function lang() { return current; }
export function setLang(value) {
  current = value === "en" ? "en" : "zh-CN";
  localStorage.setItem("mintong.language", current);
  document.documentElement.lang = current;
}
export function t(key, ...args) {
  const value = WORDS[current][key] ?? WORDS["zh-CN"][key] ?? key;
  return typeof value === "function" ? value(...args) : value;
}
export function nextStep(code) {
  const hints = WORDS[current].whatNext;
  return hints[code] || hints.default;
}
