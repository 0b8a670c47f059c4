/* placeholder until the ipc module lands */
#include "ipc/ipc.h"
void ipc_message_init(ipc_message *m) { (void)m; }
