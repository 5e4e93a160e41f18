"""Open mode's staged writes (WORKSPACE.md, "Staged writes").

A tool in open mode sees the working directory through an overlay: reads come from the real
folder, writes land in a per-call upper directory that autoagent owns (:mod:`.layer`). After
the call :mod:`.commit` walks that layer and applies each allowed change to the working
directory, atomically per file and without following links, refusing dot-paths, links,
special files, set-uid bits, mode changes and what is over the per-call quota. What a commit
replaced or deleted is kept in an undo journal (:mod:`.undo`), so ``autoagent runs undo RUN``
puts the folder back. :mod:`.report` turns the changes into the lines a person reads.
"""
