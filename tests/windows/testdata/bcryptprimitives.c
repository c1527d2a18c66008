/* bcryptprimitives.dll for Wine 8, which lacks it: Go's Windows runtime
   (Go >= 1.22) takes its random bytes from ProcessPrng, which Windows 10 and
   later export here. This stub fills the buffer from RtlGenRandom
   (SystemFunction036, advapi32), which Wine has. Test bed only: it is never
   shipped.

   x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll bcryptprimitives.c -ladvapi32 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
