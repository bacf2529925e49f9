// A failing operator new for tests: makes one real allocation inside a
// library call throw std::bad_alloc, as an exhausted heap would, so tests
// can check that the C boundary turns it into the documented code.
#pragma once

namespace hvshim::testing {

// The `nth` (1-based) allocation through operator new from now on, on this
// thread, throws std::bad_alloc (the nothrow forms return null); once.
void fail_nth_allocation(unsigned nth);
// Disarms; returns whether the armed allocation was reached and failed.
bool stop_failing_allocations();

}  // namespace hvshim::testing
