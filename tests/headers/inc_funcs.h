/* Functions defined by the per-header translation units of the header tests. */
#ifndef HVSHIM_TESTS_HEADERS_INC_FUNCS_H
#define HVSHIM_TESTS_HEADERS_INC_FUNCS_H
int ht_inc_hv(void);
int ht_inc_hv_vmx(void);
int ht_inc_hv_arch_vmx(void);
int ht_inc_hv_arch_x86(void);
int ht_inc_hv_error(void);
int ht_inc_hv_types(void);
int ht_inc_hypervisor(void);
int ht_inc_hvshim(void);
int ht_clash(void);
int ht_mach_vm_only(void);
int ht_mach_values(void);
int ht_mach_clash(void);
#endif
