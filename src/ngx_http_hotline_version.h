
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_VERSION_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_VERSION_H_INCLUDED_


/* the release, for /metrics (hotline_build_info) and the packages */
#define NGX_HTTP_HOTLINE_VERSION  "0.1.0"


#endif /* _NGX_HTTP_HOTLINE_VERSION_H_INCLUDED_ */
