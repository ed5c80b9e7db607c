/* intake_routes.h - the route handlers of anon-intake (intake_routes.c),
 * called by intake.c's dispatcher; see intake_reply.h for the request. */
#ifndef ANON_INTAKE_ROUTES_H
#define ANON_INTAKE_ROUTES_H

#include "intake/intake_reply.h"

/* Once the upload body is complete: check it, store it, answer. */
enum MHD_Result intake_route_upload(intake_request *req);
/* Before the body: answers 200 when X-Content-SHA256 names an image this
 * camera already sent; returns MHD_YES without answering otherwise. */
enum MHD_Result intake_route_upload_known(intake_request *req);
enum MHD_Result intake_route_list(intake_request *req);
enum MHD_Result intake_route_get(intake_request *req);
enum MHD_Result intake_route_output(intake_request *req);
enum MHD_Result intake_route_healthz(intake_request *req);
enum MHD_Result intake_route_readyz(intake_request *req);
enum MHD_Result intake_route_metrics(intake_request *req);

#endif
