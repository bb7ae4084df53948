/* code.c: being written */
