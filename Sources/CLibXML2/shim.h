#ifndef XGW_CLIBXML2_SHIM_H
#define XGW_CLIBXML2_SHIM_H
/* libxml2 is built with ICU; its <unicode/ucnv.h> clashes with Foundation's bundled ICU
   ("UErrorCode has different definitions in different modules") in any Swift file that imports
   Foundation and a module built on CLibXML2. We never use the ICU members of
   xmlCharEncodingHandler (only pointers to it), so hide them. */
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlreader.h>
#include <libxml/HTMLparser.h>
#include <libxml/encoding.h>

/* xmlFree is a global function pointer variable; Swift cannot call it directly. */
static inline void xgw_xmlFree(void *ptr) { xmlFree(ptr); }

#endif
