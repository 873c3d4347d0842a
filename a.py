# user edit
