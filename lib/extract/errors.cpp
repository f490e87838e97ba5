/* Exceptions from libtorch become a status and a message: nothing thrown
 * crosses the C boundary, and warnings are kept off stderr. */
#include <new>

#include <torch/csrc/jit/frontend/error_report.h>

#include "extract/shim.h"

namespace {
class silent_handler : public c10::WarningHandler {
 public:
  void process(const c10::SourceLocation &, const std::string &,
               const bool) override {}
};
silent_handler silent;
}  // namespace

/* The warning handler is per thread in libtorch 1.13, so this only touches
 * the calling thread. */
ev__quiet::ev__quiet() : prev_(c10::Warning::get_warning_handler()) {
  c10::Warning::set_warning_handler(&silent);
}
ev__quiet::~ev__quiet() { c10::Warning::set_warning_handler(prev_); }

void ev__torch_alloc_point() {
  if (!ev__alloc_probe()) throw std::bad_alloc();
}

std::string ev__torch_reason(const char *what) {
  std::string s(what ? what : "");
  /* The TorchScript interpreter prefixes a traceback; the reason is the
   * last line naming an error. */
  size_t best = std::string::npos, pos = 0;
  while ((pos = s.find("Error: ", pos)) != std::string::npos) {
    size_t bol = s.rfind('\n', pos);
    best = bol == std::string::npos ? 0 : bol + 1;
    pos += 7;
  }
  if (best != std::string::npos) s = s.substr(best);
  size_t eol = s.find('\n');
  if (eol != std::string::npos) s.resize(eol);
  size_t ex = s.find("Exception raised from");
  if (ex != std::string::npos) s.resize(ex);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) s.pop_back();
  return s;
}

ev_status ev__torch_fail(const char *doing) {
  try {
    throw;
  } catch (const std::bad_alloc &) {
    return ev__fail(EV_ERR_NOMEM, "out of memory while %s: use a smaller "
                    "batch size (EV_EXTRACT_BATCH_SIZE)", doing);
  } catch (const c10::Error &e) {
    std::string r = ev__torch_reason(e.what_without_backtrace());
    return ev__fail(EV_ERR_BACKEND, "libtorch failed while %s: %s", doing,
                    r.c_str());
  } catch (const torch::jit::ErrorReport &) {
    /* Its what() renders the source range, unpickling the file's debug
     * records; when they are damaged that throws inside a noexcept what()
     * and std::terminate ends the process (found by fuzz/fuzz_model.c).
     * So the message is ours alone. */
    return ev__fail(EV_ERR_FORMAT, "libtorch failed while %s: the "
                    "TorchScript code in the file does not compile (a "
                    "damaged file, or one from a newer torch)", doing);
  } catch (const std::exception &e) {
    std::string r = ev__torch_reason(e.what());
    return ev__fail(EV_ERR_BACKEND, "libtorch failed while %s: %s", doing,
                    r.c_str());
  } catch (...) {
    return ev__fail(EV_ERR_BACKEND, "libtorch failed while %s with an "
                    "unknown exception", doing);
  }
}
