#ifndef XGW_CLIBXML2_SHIM_H
#define XGW_CLIBXML2_SHIM_H
#include <libxml/parser.h>
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
