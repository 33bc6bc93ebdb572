// Every text the app shows, Vietnamese first, then English. The language setting
// shows both (default), Vietnamese only or English only.
export const T = {
  app: ["Quét", "Quét"],
  tagline: ["Khai báo điểm đến, riêng tư", "Private check-in"],
  tabHome: ["Quét mã", "Scan"],
  tabDiary: ["Nhật ký", "Diary"],
  tabAlerts: ["Cảnh báo", "Alerts"],
  tabMore: ["Thêm", "More"],
  scan: ["Quét mã QR", "Scan a QR code"],
  scanHint: ["Hướng camera vào mã QR của địa điểm.", "Point the camera at the venue's QR code."],
  scanning: ["Đang tìm mã…", "Looking for a code…"],
  cancel: ["Hủy", "Cancel"],
  cameraDenied: ["Không mở được camera. Hãy cho phép dùng camera, hoặc mở đường link trong mã QR bằng camera của điện thoại.",
    "The camera could not be opened. Allow camera access, or open the QR code's link with the phone's camera."],
  scannerUnavailable: ["Chưa tải được máy quét: lần đầu dùng cần có mạng. Hoặc mở đường link trong mã QR bằng camera của điện thoại.",
    "The scanner could not be loaded: its first use needs a connection. Or open the QR code's link with the phone's camera."],
  notCheckedIn: ["Bạn chưa check-in ở đâu.", "You are not checked in anywhere."],
  checkedInAt: ["Đã check-in tại", "Checked in at"],
  youAreAt: ["Bạn đang ở", "You are at"],
  arrived: ["Đến lúc", "Arrived"],
  autoOut: ["Tự động check-out lúc", "Automatic check-out at"],
  checkOut: ["Check-out (rời đi)", "Check out (leaving)"],
  checkedOut: ["Đã check-out", "Checked out"],
  stayLonger: ["Tôi ở lâu hơn", "I'm staying longer"],
  stayUntil: ["Ở đến", "Stay until"],
  maxStay: ["tối đa", "at most"],
  minutes: ["phút", "minutes"],
  done: ["Xong", "Done"],
  savedOnPhone: ["Chỉ lưu trên điện thoại này; không gửi đi đâu.", "Stored on this phone only; nothing was sent."],
  screenCode: ["Mã trên màn hình", "Screen code"],
  posterCode: ["Mã dán tường", "Poster code"],
  firstPinTitle: ["Cơ quan y tế của mã này", "The health authority of this code"],
  firstPinText: ["Ứng dụng đã ghi nhớ cơ quan y tế phục vụ trang này. So sánh mã nhận dạng dưới đây với mã cơ quan y tế công bố (trang web, báo chí).",
    "The app pinned the health authority that serves this page. Compare this fingerprint with the one the authority publishes (website, press)."],
  fingerprint: ["Mã nhận dạng (vân tay)", "Fingerprint"],
  setupNow: ["Thiết lập ứng dụng", "Set up the app"],
  reminder: ["Nhắc tôi check-out", "Remind me to check out"],
  reminderText: ["Bạn còn ở {venue}? Nhấn Check-out khi rời đi.", "Still at {venue}? Tap Check out when you leave."],
  diaryTitle: ["Nhật ký check-in", "Check-in diary"],
  diaryEmpty: ["Chưa có lượt check-in nào.", "No check-ins yet."],
  diaryKept: ["Lưu {days} ngày, sau đó tự xóa.", "Kept {days} days, then deleted."],
  delete: ["Xóa", "Delete"],
  deleteAll: ["Xóa tất cả", "Delete all"],
  confirmDelete: ["Xóa lượt check-in này? Nếu địa điểm có cảnh báo, bạn sẽ không nhận được.",
    "Delete this check-in? You will not be alerted about this visit."],
  confirmDeleteAll: ["Xóa toàn bộ nhật ký và cảnh báo?", "Delete the whole diary and all alerts?"],
  deleted: ["Đã xóa.", "Deleted."],
  ongoing: ["đang ở", "ongoing"],
  alertsTitle: ["Cảnh báo phơi nhiễm", "Exposure alerts"],
  noAlerts: ["Không có cảnh báo nào cho các nơi bạn đã đến.", "No alerts for the places you visited."],
  lastChecked: ["Kiểm tra lần cuối", "Last checked"],
  never: ["chưa bao giờ", "never"],
  syncNow: ["Kiểm tra ngay", "Check now"],
  syncing: ["Đang tải và đối chiếu bản tin…", "Downloading and matching bulletins…"],
  syncDone: ["Đã đối chiếu, kết quả ở trên.", "Matched; results above."],
  syncPrivacy: ["Việc đối chiếu diễn ra trên điện thoại; không ai biết kết quả.", "Matching happens on this phone; nobody learns the result."],
  severity: ["Mức độ", "Severity"],
  where: ["Nơi", "Where"],
  when: ["Thời gian phơi nhiễm", "Exposure time"],
  yourVisit: ["Bạn ở đó", "Your visit"],
  message: ["Thông điệp của cơ quan y tế", "The health authority's message"],
  moreTitle: ["Thêm", "More"],
  report: ["Báo kết quả dương tính", "Report a positive test"],
  reportIntro: ["Nếu bạn xét nghiệm dương tính, cơ quan y tế sẽ cho bạn một mã xác nhận. Nhập mã để gửi các lượt check-in (đã mã hóa, chỉ cơ quan y tế mở được) để báo cho những người cùng nơi, cùng giờ.",
    "If you test positive, the health authority gives you an authorization code. Enter it to send your check-ins (sealed, only the authority can open them) so that people who shared a place and time are warned."],
  authCode: ["Mã xác nhận (XXXX-XXXX-XXXX-XXXX)", "Authorization code (XXXX-XXXX-XXXX-XXXX)"],
  preview: ["Xem trước những gì sẽ gửi", "Preview what will be sent"],
  willSend: ["Sẽ gửi cho {authority}: {n} lượt check-in (cùng {pad} gói đệm để không ai biết bạn đã đến bao nhiêu nơi).",
    "Will send to {authority}: {n} check-ins (with {pad} padding packets so nobody learns how many places you visited)."],
  since: ["Các lượt check-in từ", "Check-ins since"],
  consent: ["Tôi đồng ý gửi các lượt check-in trên cho cơ quan y tế.", "I agree to send the check-ins above to the health authority."],
  send: ["Gửi", "Send"],
  sent: ["Đã gửi. Cảm ơn bạn!", "Sent. Thank you!"],
  receipt: ["Biên nhận", "Receipt"],
  noReportable: ["Không có lượt check-in nào trong khoảng thời gian cơ quan y tế yêu cầu; không gửi gì.",
    "No check-ins fall in the period the health authority asks for; nothing will be sent."],
  authorities: ["Cơ quan y tế", "Health authorities"],
  addAuthority: ["Thêm cơ quan y tế (địa chỉ web)", "Add a health authority (web address)"],
  add: ["Thêm", "Add"],
  update: ["Cập nhật khóa", "Update keys"],
  updated: ["Đã cập nhật.", "Updated."],
  remove: ["Bỏ", "Remove"],
  confirmAdd: ["Thêm {name}? Mã nhận dạng: {fp}. Chỉ đồng ý nếu mã này trùng với mã cơ quan y tế công bố.",
    "Add {name}? Fingerprint: {fp}. Agree only if it matches the one the authority publishes."],
  settings: ["Cài đặt", "Settings"],
  language: ["Ngôn ngữ", "Language"],
  langBoth: ["Tiếng Việt + English", "Tiếng Việt + English"],
  langVi: ["Tiếng Việt", "Tiếng Việt"],
  langEn: ["English", "English"],
  retention: ["Giữ nhật ký (ngày)", "Keep the diary (days)"],
  save: ["Lưu", "Save"],
  saved: ["Đã lưu.", "Saved."],
  privacy: ["Quyền riêng tư", "Privacy"],
  privacyText: ["Quét không gửi nơi bạn đến cho ai. Điện thoại chỉ lưu mã thông báo đã mã hóa; việc đối chiếu cảnh báo diễn ra trên máy. Quét mã trong ứng dụng để trình duyệt không lưu đường link vào lịch sử.",
    "Quét sends where you go to nobody. The phone keeps only sealed tokens; alerts are matched on the phone. Scan inside the app so the browser does not keep the link in its history."],
  version: ["Phiên bản", "Version"],
  offline: ["Ngoại tuyến: check-in vẫn hoạt động.", "Offline: check-in still works."],
  install: ["Cài ứng dụng lên màn hình chính", "Install on the home screen"],
  otherAuthority: ["Mã này thuộc một cơ quan y tế khác chưa được thêm. Thêm cơ quan đó trong mục Thêm → Cơ quan y tế.",
    "This code belongs to another health authority that is not added yet. Add it under More → Health authorities."],
  error: ["Lỗi", "Error"],
  back: ["Quay lại", "Back"],
  registeredWith: ["Địa điểm đã đăng ký với {authority}", "Venue registered with {authority}"],
  unregistered: ["Địa điểm chưa đăng ký với cơ quan y tế: mã vẫn hợp lệ, nhưng không ai xác nhận tên và địa chỉ này.",
    "Unregistered venue: the code is valid, but nobody has confirmed this name and address."],
  checkpointConflict: ["Mã của địa điểm thấy một bản tin khác với điện thoại này. Điện thoại sẽ kiểm tra lại khi đồng bộ.",
    "The venue's code saw a different bulletin from this phone's. The phone will check again at the next sync."],
  displayTitle: ["Màn hình mã QR của địa điểm", "Venue QR display"],
  displayIntro: ["Chọn tệp hiển thị (quet-venue display-export) và nhập mật khẩu của tệp. Tệp được giữ trên máy này, vẫn mã hóa; mã QR được tạo ngay trên máy, không cần mạng.",
    "Choose the display file (quet-venue display-export) and enter its passphrase. The file stays on this device, still encrypted; codes are made here, offline."],
  displayUnlock: ["Nhập mật khẩu của tệp hiển thị để hiện mã.", "Enter the display file's passphrase to show the code."],
  displayFile: ["Tệp hiển thị", "Display file"],
  displayPassphrase: ["Mật khẩu của tệp", "The file's passphrase"],
  displayOpen: ["Hiện mã QR", "Show the QR code"],
  displayForget: ["Bỏ tệp này", "Forget this file"],
  displayScan: ["Quét mã bằng camera điện thoại để khai báo.", "Scan with your phone's camera to check in."],
  displayNext: ["Mã mới sau {s} giây", "New code in {s} s"],
  displayUnregistered: ["Địa điểm chưa đăng ký với cơ quan y tế.", "Venue not registered with the health authority."],
  displayValid: ["Tệp dùng được", "File valid"],
  eventNotStarted: ["Sự kiện bắt đầu lúc {time}.", "The event starts at {time}."],
  eventEnded: ["Sự kiện đã kết thúc lúc {time}.", "The event ended at {time}."],
  exposed: ["Bạn có thể đã bị phơi nhiễm.", "You may have been exposed."],
  exposedLocked: ["Bạn có thể đã bị phơi nhiễm: mở khóa để xem nơi nào.", "You may have been exposed: unlock to see where."],
  unlockToSee: ["Mở khóa để xem", "Unlock to see"],
  foundAt: ["Phát hiện lúc", "Found at"],
  lockTitle: ["Khóa nhật ký", "Diary lock"],
  lockText: ["Nhật ký và chi tiết cảnh báo được khóa. Nhập mã PIN để xem.", "The diary and alert details are locked. Enter your PIN to see them."],
  pin: ["Mã PIN", "PIN"],
  pinAgain: ["Nhập lại mã PIN", "PIN again"],
  unlock: ["Mở khóa", "Unlock"],
  unlockPasskey: ["Mở khóa bằng passkey", "Unlock with a passkey"],
  setPin: ["Đặt mã PIN", "Set a PIN"],
  changePin: ["Đổi mã PIN", "Change the PIN"],
  pinWhy: ["Đặt mã PIN (ít nhất 4 ký tự) để khóa nhật ký: ai cầm điện thoại cũng không xem được bạn đã đến đâu. Check-in không bao giờ hỏi mã PIN.",
    "Set a PIN (at least 4 characters) to lock the diary: whoever holds the phone cannot see where you went. Checking in never asks for it."],
  pinMismatch: ["Hai mã PIN không giống nhau.", "The two PINs differ."],
  pinSaved: ["Đã đặt mã PIN. Nhật ký đã được khóa.", "PIN set. The diary is locked."],
  pinIsSet: ["Nhật ký được khóa bằng mã PIN.", "The diary is locked with a PIN."],
  pinNotSet: ["Chưa đặt mã PIN: nhật ký chưa được khóa.", "No PIN yet: the diary is not locked."],
  passkeyIsSet: ["Có thể mở khóa bằng passkey.", "A passkey can unlock it."],
  addPasskey: ["Mở khóa bằng passkey (vân tay, khuôn mặt)", "Unlock with a passkey (fingerprint, face)"],
  passkeyAdded: ["Đã thêm passkey.", "Passkey added."],
  retryAt: ["Nhập sai nhiều lần: thử lại sau {time}.", "Too many wrong PINs: try again after {time}."],
  outOfDate: ["Cảnh báo có thể chưa cập nhật kể từ {time}.", "Alerts may be out of date since {time}."],
};

let mode = "both";
export function setLang(m) { mode = ["vi", "en", "both"].includes(m) ? m : "both"; }
export function lang() { return mode; }

function fill(s, vars) {
  return s.replace(/\{(\w+)\}/g, (_, k) => (vars && k in vars ? String(vars[k]) : ""));
}

/** A text node pair: Vietnamese, then English (or one of them). */
export function t(key, vars) {
  const [vi, en] = T[key] || [key, key];
  return bi(fill(vi, vars), fill(en, vars));
}

/** Two given texts as the language setting wants them (a DOM fragment). */
export function bi(vi, en) {
  const f = document.createDocumentFragment();
  if (mode !== "en") {
    const s = document.createElement("span");
    s.lang = "vi"; s.className = "vi"; s.textContent = vi;
    f.append(s);
  }
  if (mode !== "vi" && !(mode === "both" && vi === en)) {
    const s = document.createElement("span");
    s.lang = "en"; s.className = mode === "both" ? "en" : "en only"; s.textContent = en;
    f.append(s);
  }
  return f;
}

/** Plain text (for aria-label, confirm(), notifications). */
export function tx(key, vars) {
  const [vi, en] = T[key] || [key, key];
  if (mode === "vi") return fill(vi, vars);
  if (mode === "en") return fill(en, vars);
  return vi === en ? fill(vi, vars) : fill(vi, vars) + " / " + fill(en, vars);
}

/** Local time: the device's zone, Asia/Ho_Chi_Minh when it has none. */
export function zone() {
  const z = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return z && z !== "UTC" && z !== "Etc/UTC" ? z : "Asia/Ho_Chi_Minh";
}

export function time(unix, withDate = true) {
  const opts = { timeZone: zone(), hour: "2-digit", minute: "2-digit", hour12: false };
  if (withDate) Object.assign(opts, { day: "2-digit", month: "2-digit", year: "numeric" });
  return new Intl.DateTimeFormat(mode === "en" ? "en-GB" : "vi-VN", opts).format(new Date(unix * 1000));
}
