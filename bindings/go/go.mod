module github.com/bgcopy/bgcopy-go

go 1.19
