/*
 * Values of the Mach headers that are facts of the SDK: error fields,
 * MIG codes, user tags, flags and page constants, struct sizes.
 */
#include <mach/mach.h>
#include <mach/mach_time.h>
#include <mach/mach.h>
#include "inc_funcs.h"

int ht_mach_values(void)
{
	int bad = 0;
	mach_error_t e = ERR_SUCCESS;
	mach_timebase_info_data_t tb;
	mig_reply_error_t reply;
	vm_statistics64_data_t st;
	tb.numer = tb.denom = 1;
	bad += e != KERN_SUCCESS;
	bad += err_get_system(err_mach_ipc) != 4;
	bad += err_get_sub(err_sub(0x123)) != 0x123;
	bad += err_get_code(MACH_SEND_INVALID_DEST) != 3;
	bad += (MACH_SEND_INVALID_DEST & system_emask) != err_mach_ipc;
	bad += unix_err(2) != 0xc002;
	bad += MIG_BAD_ID != -303 || MIG_TYPE_ERROR != -300 || MIG_TRAILER_ERROR != -309;
	bad += KERN_NOT_FOUND != 56 || KERN_RETURN_MAX != 0x100;
	bad += VM_MEMORY_SCENEKIT != 86 || VM_MEMORY_MALLOC_PROB_GUARD != 13 || VM_MEMORY_CM_HLS != 106;
	bad += VM_MEMORY_ROSETTA_10 != 239 || VM_MEMORY_APPLICATION_SPECIFIC_16 != 255 || VM_MEMORY_COUNT != 256;
	bad += VM_MEMORY_CARBON != VM_MEMORY_CORESERVICES || VM_MEMORY_WEBASSEMBLY != VM_MEMORY_JAVASCRIPT_CORE;
	bad += VM_FLAGS_RETURN_4K_DATA_ADDR != 0x800000 || VM_FLAGS_SUPERPAGE_SIZE_2MB != 0x20000;
	bad += PAGE_MAX_SIZE != 16384 || PAGE_MIN_SIZE != 4096 || PAGE_MIN_SHIFT != 12 || PAGE_MAX_SHIFT != 14;
	bad += GUARD_TYPE_VIRT_MEMORY != 5 || kGUARD_EXC_DEALLOC_GAP != 1;
	bad += VM_LEDGER_TAG_NEURAL != 5 || VM_LEDGER_FLAGS_ALL != 7;
	bad += sizeof(st) != 152 || sizeof(struct vm_statistics) != 60;
	bad += sizeof(reply) != 36 || sizeof(mach_msg_header_t) != 24 || sizeof(NDR_record_t) != 8;
	bad += sizeof(tb) != 8 || tb.numer != tb.denom;
	bad += TASK_NULL != 0 || THREAD_NULL != 0 || HOST_PRIV_NULL != 0;
	bad += sizeof(host_name_port_t) != 4 || sizeof(ledger_amount_t) != 8;
	return bad;
}
