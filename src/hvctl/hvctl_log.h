/*
 * hvctl_log.h: hvctl's transparency-log commands (docs/cli.md, "Receipts and the log"):
 *
 *   exec --receipt FILE                 saves the 200's receipt with the commitments it covers
 *   receipt verify --log-key KEY FILE   offline: checkpoint signature, inclusion proof, and that
 *                 [--online]            the leaf is the client's record; --online also proves the
 *                                       receipt's tree is a prefix of the server's tree now
 *   log key                             prints the server's log verifier key
 *   log monitor --state FILE            checks each new checkpoint against the last one seen
 *               [--log-key KEY] [--full]   (consistency; rollback and forks fail) and every new
 *               [--no-leaves]           leaf against its record (--full: every leaf again)
 *
 * Exit status: 0 verified, 1 a failed check or no answer, 2 a usage error.
 */
#ifndef HV_HVCTL_LOG_H
#define HV_HVCTL_LOG_H

#include <stddef.h>

/* Writes the receipt file for a 200 execute reply (body: its JSON). 0, or 1 with the reason on
 * stderr (a reply without a receipt, a file that cannot be written). */
int hvctl_receipt_save(const char *path, const char *body, size_t len);

/* `hvctl receipt ...` and `hvctl log ...`: argv[0] is the command name. */
int hvctl_receipt_command(const char *server, int argc, char **argv);
int hvctl_log_command(const char *server, int argc, char **argv);

#endif /* HV_HVCTL_LOG_H */
