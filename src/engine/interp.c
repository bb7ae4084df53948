/* interp.c: being written */
