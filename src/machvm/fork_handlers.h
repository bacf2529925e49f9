// Mach inheritance across fork(), on top of Linux's. Our memory is a shared
// mapping of a memfd, which Linux would share with the child; XNU's default
// (VM_INHERIT_COPY) gives the child a private copy. The child handler copies
// those pages into objects of its own before fork() returns in either
// process (the parent waits), so neither side sees the other's later writes.
#pragma once

namespace hvshim::machvm {
struct Task;
void install_fork_handlers(Task& t);
}
