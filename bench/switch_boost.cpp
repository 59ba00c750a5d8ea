/* switch_boost.cpp - the Boost.Context peer of switch.c.
 *
 * Measures nothing by itself: it gives switch.c (which stays C) three
 * extern "C" functions that set up one fcontext on its own stack and bounce
 * control between the caller and it with jump_fcontext, Boost.Context's
 * assembly switch.  switch.c does the timing.  Link with -lboost_context.
 */
#include <cstddef>
#include <cstdlib>

#include <boost/context/detail/fcontext.hpp>

namespace fc = boost::context::detail;

static fc::fcontext_t echo_ctx;	/* the echo context while it is suspended */
static void *echo_stack;

/* Sends control straight back to whoever jumped in, for ever.  Each jump
 * hands over the jumper's context, which is where the next jump goes. */
static void echo(fc::transfer_t t)
{
	for (;;)
		t = fc::jump_fcontext(t.fctx, nullptr);
}

/* Makes the echo context on a fresh stack of stack_size bytes.  Returns 0,
 * or -1 if the stack could not be allocated. */
extern "C" int fctx_setup(std::size_t stack_size)
{
	echo_stack = std::malloc(stack_size);
	if (echo_stack == nullptr)
		return -1;
	/* make_fcontext wants the highest address: stacks grow down on
	 * every architecture weft supports. */
	echo_ctx = fc::make_fcontext(static_cast<char *>(echo_stack) +
				     stack_size, stack_size, echo);
	return 0;
}

/* Jumps into the echo context and back n times: 2n switches. */
extern "C" void fctx_round_trips(long n)
{
	for (long i = 0; i < n; i++)
		echo_ctx = fc::jump_fcontext(echo_ctx, nullptr).fctx;
}

/* Frees the echo context's stack.  The context is left suspended and must
 * not be jumped to again. */
extern "C" void fctx_teardown(void)
{
	std::free(echo_stack);
	echo_stack = nullptr;
	echo_ctx = nullptr;
}
