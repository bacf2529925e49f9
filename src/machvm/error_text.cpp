// mach_error_string / mach_error_type / mach_error: Darwin's error texts,
// looked up the way libsystem does (old negative IPC/MIG numbers are first
// moved into their new system and subsystem), so messages read the same.
#include <array>
#include <cstdio>
#include <span>

#include <mach/mach_error.h>
#include <mach/ndr.h>

#include "common/export.h"

namespace {

using Texts = std::span<const char* const>;

struct Subsystem {
  const char* name;  // nullptr where Darwin has none (user space)
  Texts codes;
};

struct System {
  const char* unknown_subsystem;  // nullptr for systems without a table
  std::span<const Subsystem> subsystems;
};

constexpr const char* kUnknownCode = "unknown error code";

constexpr const char* kKern[] = {
    "(os/kern) successful", "(os/kern) invalid address", "(os/kern) protection failure",
    "(os/kern) no space available", "(os/kern) invalid argument", "(os/kern) failure",
    "(os/kern) resource shortage", "(os/kern) not receiver", "(os/kern) no access",
    "(os/kern) memory failure", "(os/kern) memory error", "(os/kern) already in set",
    "(os/kern) not in set", "(os/kern) name exists", "(os/kern) aborted", "(os/kern) invalid name",
    "(os/kern) invalid task", "(os/kern) invalid right", "(os/kern) invalid value",
    "(os/kern) urefs overflow", "(os/kern) invalid capability", "(os/kern) right exists",
    "(os/kern) invalid host", "(os/kern) memory present", "(os/kern) memory data moved",
    "(os/kern) memory restart copy", "(os/kern) invalid processor set", "(os/kern) policy limit",
    "(os/kern) invalid policy", "(os/kern) invalid object", "(os/kern) already waiting",
    "(os/kern) default set", "(os/kern) exception protected", "(os/kern) invalid ledger",
    "(os/kern) invalid memory control", "(os/kern) invalid security", "(os/kern) not depressed",
    "(os/kern) object terminated", "(os/kern) lock set destroyed", "(os/kern) lock unstable",
    "(os/kern) lock owned by another", "(os/kern) lock owned by self", "(os/kern) semaphore destroyed",
    "(os/kern) RPC terminated", "(os/kern) terminate orphan", "(os/kern) let orphan continue",
    "(os/kern) service not supported", "(os/kern) remote node down", "(os/kern) thread not waiting",
    "(os/kern) operation timed out", "(os/kern) code signing error", "(os/kern) policy is static",
    "(os/kern) insufficient input buffer size", "(os/kern) denied by security policy",
    "(os/kern) missing kernel collection", "(os/kern) invalid kernel collection",
    "(os/kern) result not found",
};

// Darwin's errno numbering (unix_err), not Linux's.
constexpr const char* kUnix[] = {
    kUnknownCode, "(os/unix) no rights to object", "(os/unix) file or directory does not exist",
    "(os/unix) no such process", "(os/unix) interrupted system call", "(os/unix) i/o error",
    "(os/unix) device does not exist", "(os/unix) argument list is too long",
    "(os/unix) invalid executable object format", "(os/unix) bad file descriptor number",
    "(os/unix) no child processes are present", "(os/unix) no more processes are available",
    "(os/unix) insufficient memory", "(os/unix) access denied", "(os/unix) memory access fault",
    "(os/unix) block device required for operation", "(os/unix) mount device busy",
    "(os/unix) file already exists", "(os/unix) cross device link", "(os/unix) device does not exist",
    "(os/unix) object is not a directory", "(os/unix) object is a directory", "(os/unix) invalid argument",
    "(os/unix) internal file table overflow", "(os/unix) maximum number of open files reached",
    "(os/unix) object is not a tty-like device", "(os/unix) executable object is in use",
    "(os/unix) file is too large", "(os/unix) no space is left on device", "(os/unix) illegal seek attempt",
    "(os/unix) read-only file system", "(os/unix) too many links", "(os/unix) broken pipe",
    "(os/unix) argument is too large", "(os/unix) result is out of range",
    "(os/unix) operation on device would block", "(os/unix) operation is now in progress",
    "(os/unix) operation is already in progress", "(os/unix) socket operation attempted on non-socket object",
    "(os/unix) destination address is required", "(os/unix) message is too long",
    "(os/unix) protocol type is incorrect for socket", "(os/unix) protocol type is not availaible",
    "(os/unix) protocol type is not supported", "(os/unix) socket type is not supported",
    "(os/unix) operation is not supported on sockets", "(os/unix) protocol family is not supported",
    "(os/unix) address family is not supported by protocol family", "(os/unix) address is already in use",
    "(os/unix) can't assign requested address", "(os/unix) network is down",
    "(os/unix) network is unreachable", "(os/unix) network dropped connection on reset",
    "(os/unix) software aborted connection", "(os/unix) connection reset by peer",
    "(os/unix) no buffer space is available", "(os/unix) socket is already connected",
    "(os/unix) socket is not connected", "(os/unix) can't send after socket shutdown",
    "(os/unix) too many references; can't splice", "(os/unix) connection timed out",
    "(os/unix) connection was refused", "(os/unix) too many levels of symbolic links",
    "(os/unix) file name exceeds system maximum limit", "(os/unix) host is down",
    "(os/unix) there is no route to host", "(os/unix) directory is not empty",
    "(os/unix) quota on number of processes exceeded", "(os/unix) quota on number of users exceeded",
    "(os/unix) quota on available disk space exceeded",
};

constexpr Subsystem kOs[] = {{"(os/kern)", kKern}, {"(os/?)", {}}, {"(os/?)", {}}, {"(os/unix)", kUnix}};

constexpr Subsystem kUserSpace[] = {{nullptr, {}}};

constexpr const char* kNetname[] = {"(server/netname) name is not yours", "(server/netname) name not checked in",
                                    "(server/netname) no such host", "(server/netname) host not found"};
constexpr const char* kEnvMgr[] = {kUnknownCode,
                                   "(server/env_mgr) variable not found",
                                   "(server/env_mgr) wrong type of variable",
                                   "(server/env_mgr) unknown port",
                                   "(server/env_mgr) read only environment",
                                   "(server/env_mgr) no more connections available",
                                   "(server/env_mgr) port table full",
                                   "(server/env_mgr) attempting to enter a null port "};
constexpr const char* kExecd[] = {kUnknownCode, "(server/execd) could not find file to run",
                                  "(server/execd) userid or password incorrect", "(server/execd) fork failed"};
constexpr const char* kNetmemory[] = {"(server/netmemory) successful", "(server/netmemory) invalid argument",
                                      "(server/netmemory) resource shortage"};
constexpr const char* kUfs[] = {kUnknownCode};
constexpr const char* kTaskMaster[] = {
    "(server/task_master) GENERIC ERROR",       "(server/task_master) invalid tm_task port",
    "(server/task_master) invalid task id",     "(server/task_master) invalid kernel port",
    "(server/task_master) invalid job group",   "(server/task_master) invalid action"};
constexpr const char* kNs[] = {
    "(server/ns) GENERIC ERROR", "(server/ns) invalid handle", "(server/ns) name not found",
    "(server/ns) name already exists", "(server/ns) name too long", "(server/ns) path too long",
    "(server/ns) invalid name", "(server/ns) not a directory", "(server/ns) is a directory",
    "(server/ns) directory not empty", "(server/ns) infinite retry loop in resolver",
    "(server/ns) infinite forwarding loop in resolver", "(server/ns) invalid prefix",
    "(server/ns) prefix table overflow", "(server/ns) bad format for directory",
    "(server/ns) unknown entry type", "(server/ns) invalid generation", "(server/ns) entry not reserved"};
constexpr const char* kIo[] = {"(server/io) GENERIC ERROR", "(server/io) invalid offset", "(server/io) invalid size",
                               "(server/io) invalid mode", "(server/io) invalid strategy",
                               "(server/io) operation rejected under current I/O strategy"};
constexpr const char* kAuth[] = {"(server/auth) GENERIC ERROR", "(server/auth) bad private port",
                                 "(server/auth) bad name", "(server/auth) not primary",
                                 "(server/auth) bad pauthsword", "(server/auth) bad group",
                                 "(server/auth) duplicate id", "(server/auth) duplicate name",
                                 "(server/auth) not secondary"};
constexpr const char* kUs[] = {
    "(server/us) GENERIC ERROR", "(server/us) unknown error", "(server/us) object not found",
    "(server/us) object exists", "(server/us) object busy", "(server/us) object not started",
    "(server/us) object dead", "(server/us) invalid args", "(server/us) invalid access",
    "(server/us) invalid format", "(server/us) invalid buffer size", "(server/us) access denied",
    "(server/us) resource exhausted", "(server/us) quota exceeded", "(server/us) limit exceeded",
    "(server/us) not implemented", "(server/us) not supported", "(server/us) hardware error",
    "(server/us) retry required", "(server/us) not authenticated", "(server/us) exclusive access",
    "(server/us) timeout", "(server/us) bad reference count", "(server/us) internal error"};
constexpr const char* kSunrpc[] = {
    "(server/sunrpc) GENERIC ERROR", "(server/sunrpc) cannot encode arguments",
    "(server/sunrpc) cannot decode results", "(server/sunrpc) failure in sending call",
    "(server/sunrpc) failure in receiving result", "(server/sunrpc) call timed out",
    "(server/sunrpc) rpc versions not compatible", "(server/sunrpc) authentication error",
    "(server/sunrpc) program not available", "(server/sunrpc) program version mismatched",
    "(server/sunrpc) procedure unavailable", "(server/sunrpc) decode arguments error",
    "(server/sunrpc) generic other problem", "(server/sunrpc) unknown host name",
    "(server/sunrpc) portmapper failed", "(server/sunrpc) remote program not registered",
    "(server/sunrpc) unspecified error", "(server/sunrpc) unknown protocol"};
constexpr const char* kMachObj[] = {
    "(server/object system) GENERIC ERROR", "(server/object system) object not found",
    "(server/object system) no such operation", "(server/object system) undefined ipc method arguments",
    "(server/object system) too many arguments to method", "(server/object system) bad ipc message format"};
constexpr const char* kLoader[] = {"(server/loader) GENERIC ERROR", "(server/loader) object file not relocated",
                                   "(server/loader) unknown file type", "(server/loader) symbol not found",
                                   "(server/loader) symbol multiply defined", "(server/loader) memory region overlap"};
constexpr const char* kException[] = {
    "(server/exception) GENERIC ERROR", "(server/exception) invalid access",
    "(server/exception) invalid instruction", "(server/exception) arithmetic exception",
    "(server/exception) emulation exception", "(server/exception) software exception",
    "(server/exception) breakpoint exception"};
constexpr const char* kUxSignal[] = {
    "(server/unix-signal) GENERIC ERROR", "(server/unix-signal) hangup", "(server/unix-signal) interrupt",
    "(server/unix-signal) quit", "(server/unix-signal) undefined", "(server/unix-signal) undefined",
    "(server/unix-signal) undefined", "(server/unix-signal) undefined", "(server/unix-signal) kill",
    "(server/unix-signal) undefined", "(server/unix-signal) undefined", "(server/unix-signal) system error",
    "(server/unix-signal) pipe signal", "(server/unix-signal) alarm", "(server/unix-signal) terminate",
    "(server/unix-signal) urgent i/o", "(server/unix-signal) stop", "(server/unix-signal) terminal stop",
    "(server/unix-signal) continue", "(server/unix-signal) child death", "(server/unix-signal) tty input",
    "(server/unix-signal) tty output", "(server/unix-signal) i/o signal",
    "(server/unix-signal) cpu time limit exceeded", "(server/unix-signal) file size exceeded",
    "(server/unix-signal) virtual alarm", "(server/unix-signal) profile signal",
    "(server/unix-signal) window size change", "(server/unix-signal) user-defined signal 1",
    "(server/unix-signal) user-defined signal 2"};
constexpr const char* kXkernel[] = {
    "(server/xkernel) GENERIC ERROR", "(server/xkernel) map full", "(server/xkernel) inconsistent bind",
    "(server/xkernel) cannot resolve", "(server/xkernel) cannot unbind", "(server/xkernel) invalid type",
    "(server/xkernel) invalid opcode", "(server/xkernel) buffer too small", "(server/xkernel) invalid ev code",
    "(server/xkernel) event not registered", "(server/xkernel) invalid open", "(server/xkernel) already open",
    "(server/xkernel) bad addr"};

constexpr Subsystem kServer[] = {
    {"(server/netname)", kNetname},     {"(server/env_mgr)", kEnvMgr},   {"(server/execd)", kExecd},
    {"(server/netmemory)", kNetmemory}, {"(server/ufs)", kUfs},          {"(server/task_master)", kTaskMaster},
    {"(server/ns)", kNs},               {"(server/io)", kIo},            {"(server/auth)", kAuth},
    {"(server/us)", kUs},               {"(server/sunrpc)", kSunrpc},    {"(server/object system)", kMachObj},
    {"(server/loader)", kLoader},       {"(server/exception)", kException}, {"(server/unix-signal)", kUxSignal},
    {"(server/xkernel)", kXkernel}};

// The old IPC numbers (-100.. send, -200.. receive, -300.. MIG).
constexpr const char* kOldSend[] = {
    "(ipc/send) unknown error", "(ipc/send) invalid memory", "(ipc/send) invalid port", "(ipc/send) timed out",
    "(ipc/send) unused error", "(ipc/send) will notify", "(ipc/send) notify in progress",
    "(ipc/send) kernel refused message", "(ipc/send) send interrupted", "(ipc/send) send message too large",
    "(ipc/send) send message too small", "(ipc/send) message size changed while being copied"};
constexpr const char* kOldRcv[] = {
    "(ipc/rcv) unknown error", "(ipc/rcv) invalid memory", "(ipc/rcv) invalid port",
    "(ipc/rcv) receive timed out", "(ipc/rcv) message too large", "(ipc/rcv) no space for message data",
    "(ipc/rcv) only sender remaining", "(ipc/rcv) receive interrupted",
    "(ipc/rcv) port receiver changed or port became enabled"};
constexpr const char* kOldMig[] = {
    "(ipc/mig) type check failure in message interface", "(ipc/mig) wrong return message ID",
    "(ipc/mig) server detected error", "(ipc/mig) bad message ID", "(ipc/mig) server found wrong arguments",
    "(ipc/mig) no reply should be sent", "(ipc/mig) server raised exception",
    "(ipc/mig) user specified array not large enough for return info"};
constexpr Subsystem kIpc[] = {{"(ipc/send)", kOldSend}, {"(ipc/rcv)", kOldRcv}, {"(ipc/mig)", kOldMig}};

constexpr const char* kMachSend[] = {
    "(ipc/send) no error", "(ipc/send) send in progress", "(ipc/send) invalid data",
    "(ipc/send) invalid destination port", "(ipc/send) timed out", "(ipc/send) invalid voucher",
    "(ipc/send) unused error", "(ipc/send) interrupted", "(ipc/send) msg too small",
    "(ipc/send) invalid reply port", "(ipc/send) invalid port right", "(ipc/send) invalid notify port",
    "(ipc/send) invalid memory", "(ipc/send) no msg buffer", "(ipc/send) msg too large",
    "(ipc/send) invalid msg-type", "(ipc/send) invalid msg-header", "(ipc/send) invalid msg-trailer",
    "(ipc/send) invalid context for reply", "(ipc/send) unused error", "(ipc/send) unused error",
    "(ipc/send) out-of-line buffer too large", "(ipc/send) destination does not accept OOL ports"};
constexpr const char* kMachRcv[] = {
    "(ipc/rcv) no error", "(ipc/rcv) receive in progress", "(ipc/rcv) invalid name", "(ipc/rcv) timed out",
    "(ipc/rcv) msg too large", "(ipc/rcv) interrupted", "(ipc/rcv) port changed",
    "(ipc/rcv) invalid notify port", "(ipc/rcv) invalid data", "(ipc/rcv) port died", "(ipc/rcv) port in set",
    "(ipc/rcv) header error", "(ipc/rcv) body error", "(ipc/rcv) invalid scatter list entry",
    "(ipc/rcv) overwrite region too small", "(ipc/rcv) invalid msg-trailer", "(ipc/rcv) DIPC transport error"};
constexpr const char* kMachMig[] = {
    "(ipc/mig) client type check failure", "(ipc/mig) wrong reply message ID", "(ipc/mig) server detected error",
    "(ipc/mig) bad request message ID", "(ipc/mig) server type check failure", "(ipc/mig) no reply should be sent",
    "(ipc/mig) server raised exception", "(ipc/mig) array not large enough", "(ipc/mig) server died",
    "(ipc/mig) unknown trailer format"};
constexpr Subsystem kMachIpc[] = {{"(ipc/send)", kMachSend}, {"(ipc/rcv)", kMachRcv}, {"(ipc/mig)", kMachMig}};

// Darwin files its VM texts under system 7, not err_vm's 8, and shows the
// first two send texts for "(vm/kernel)"; kept so texts match.
constexpr const char* kVmReclaim[] = {
    "(vm/reclaim) no error", "(vm/reclaim) invalid argument", "(vm/reclaim) operation not supported",
    "(vm/reclaim) invalid region size", "(vm/reclaim) invalid ring capacity", "(vm/reclaim) invalid reclaim ID",
    "(vm/reclaim) ring already instantiated", "(vm/reclaim) invalid ring"};
constexpr Subsystem kVm[] = {{"(vm/kernel)", Texts(kMachSend, 2)}, {"(vm/reclaim)", kVmReclaim}};

constexpr std::array<System, err_max_system + 1> make_systems() {
  std::array<System, err_max_system + 1> s{};
  s[0] = {"(operating system/?) unknown subsystem error", kOs};
  s[1] = {"(user space/?) unknown subsystem error", kUserSpace};
  s[2] = {"(server/?) unknown subsystem error", kServer};
  s[3] = {"(ipc/?) unknown subsystem error", kIpc};
  s[4] = {"(ipc/?) unknown subsystem error", kMachIpc};
  s[7] = {"(vm/?) unknown subsystem error", kVm};
  // IOKit and libkern have tables on Darwin that we do not carry.
  s[0x37] = {"(libkern/?) unknown subsystem error", {}};
  s[0x38] = {"(iokit/?) unknown subsystem error", {}};
  return s;
}
constexpr auto kSystems = make_systems();

mach_error_t modern(mach_error_t err) {
  if (err > -200 && err <= -100) return -(err + 100) | (err_ipc | err_sub(0));
  if (err > -300 && err <= -200) return -(err + 200) | (err_ipc | err_sub(1));
  if (err > -400 && err <= -300) return -(err + 300) | (err_mach_ipc | err_sub(2));
  if (err >= 1000 && err < 1100) return (err - 1000) | (err_server | err_sub(0));
  if (err >= 1600 && err < 1700) return (err - 1600) | (err_server | err_sub(1));
  if (err >= 27600 && err < 27700) return (err - 27600) | (err_server | err_sub(2));
  return err;
}

struct Lookup {
  const char* text;
  bool known;  // a code of a table: no diagnostic suffix in mach_error
};

Lookup lookup(mach_error_t err) {
  err = modern(err);
  const System& sys = kSystems[static_cast<unsigned>(err_get_system(err))];
  unsigned sub = static_cast<unsigned>(err_get_sub(err));
  if (sub >= sys.subsystems.size()) return {sys.unknown_subsystem, false};
  const Texts& codes = sys.subsystems[sub].codes;
  unsigned code = static_cast<unsigned>(err_get_code(err));
  if (code >= codes.size()) return {kUnknownCode, false};
  return {codes[code], true};
}

const char* type_of(mach_error_t err) {
  err = modern(err);
  const System& sys = kSystems[static_cast<unsigned>(err_get_system(err))];
  unsigned sub = static_cast<unsigned>(err_get_sub(err));
  if (sub >= sys.subsystems.size()) return "(?/?)";
  return sys.subsystems[sub].name;
}

const char* printable(const char* s) { return s ? s : "(null)"; }

}  // namespace

extern "C" {

HVSHIM_EXPORT NDR_record_t NDR_record = {0, 0, 0, 0, NDR_INT_LITTLE_ENDIAN, NDR_CHAR_ASCII, NDR_FLOAT_IEEE, 0};

HVSHIM_EXPORT char* mach_error_string(mach_error_t error_value) {
  return const_cast<char*>(lookup(error_value).text);
}

HVSHIM_EXPORT char* mach_error_type(mach_error_t error_value) { return const_cast<char*>(type_of(error_value)); }

HVSHIM_EXPORT void mach_error(const char* str, mach_error_t error_value) {
  Lookup l = lookup(error_value);
  if (l.known)
    std::fprintf(stderr, "%s %s\n", printable(str), printable(l.text));
  else
    std::fprintf(stderr, "%s %s %s (%x)\n", printable(str), printable(type_of(error_value)), printable(l.text),
                 static_cast<unsigned>(error_value));
}

}  // extern "C"
