/* placeholder: replaced by the sample plugin */
#include "swath/plugin.h"
const swath_process_vtable *swath_plugin_entry(int host_abi);
const swath_process_vtable *swath_plugin_entry(int host_abi) { (void)host_abi; return NULL; }
